"""The HTTP edge: app factory, middleware, error handlers and routers."""
