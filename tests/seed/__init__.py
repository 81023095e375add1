"""Issue 16, routes and migration: the seed's devices and routes against today's Tempest."""
