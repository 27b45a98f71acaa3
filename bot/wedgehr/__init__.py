"""WedgeHR Connect v2: client, models and sandbox."""
