"""The bundled offline sample of secretchina.com and a loopback server for it."""
