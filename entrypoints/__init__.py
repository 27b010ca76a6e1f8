"""The composition root: settings, the app factory and its lifespan, the server command."""
