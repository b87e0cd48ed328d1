"""Publishing the mirror tree to Git hosts (PUBLISH_TO)."""
