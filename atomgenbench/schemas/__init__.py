"""JSON Schemas shipped with atomgenbench (package data)."""
