"""Authentication and access-control rules (FAL4xx)."""
