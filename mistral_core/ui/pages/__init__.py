"""The resources of the UI's pages."""
