"""The web app: FastAPI search page, JSON API and catalog images (``create_app``)."""
