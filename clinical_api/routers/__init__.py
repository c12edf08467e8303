"""HTTP routers: thin layers over the service functions."""
