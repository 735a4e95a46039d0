"""REST routes, one module per resource, plus the console pages."""
