"""The REST API under /api/v1: flask-smorest blueprints from each slice (the
OpenAPI document is generated from their marshmallow schemas).  Slices use
``common`` (permission checks); ``kaohe.shell.init_api`` registers every
slice's blueprints on the app."""
