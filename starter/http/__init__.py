"""The webhook API's routes, one module per family (webhooks, incidents, learning, operations), each
a FastAPI router whose endpoints take their dependencies with ``Depends`` (starter/http/deps.py).
starter/api.py assembles them with the middlewares."""
