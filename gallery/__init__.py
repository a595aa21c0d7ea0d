"""Prompt Gallery: keep, browse and find the prompts behind AI-generated images."""

import os
import secrets
from pathlib import Path

from flask import Flask

from . import config as settings
from . import db, security
from .sessions import LeanSessionInterface


def create_app(config=None, instance_path=None):
    """Build the app: defaults, then instance/config.py, then GALLERY_* env, then `config`."""
    instance_path = Path(instance_path or settings.instance_path_setting()).resolve()
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=True,
        template_folder=str(settings.PROJECT_ROOT / "templates"),
        static_folder=str(settings.PROJECT_ROOT / "static"),
    )
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(settings.ENV_PREFIX)  # values parsed as JSON
    app.config.from_mapping(config or {})
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = settings.default_database_url(instance_path)
    app.config["BASE_URL"] = settings.check_base_url(app.config["BASE_URL"])
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret(instance_path)

    app.session_interface = LeanSessionInterface()
    security.init_app(app)
    db.init_app(app)
    register_web(app)
    from . import cli

    cli.init_app(app)
    return app


def register_web(app):
    """Blueprints, error pages, template filters and globals."""
    from . import admin, api, errors, templating, views
    from .csrf import csrf_token

    app.before_request(admin.require_private_access)  # after db's hook: it may need a token
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    errors.register_handlers(app)
    templating.init_app(app)
    app.jinja_env.globals.update(csrf_token=csrf_token, is_admin=admin.is_admin)


def instance_secret(instance_path):
    """A random secret kept in the instance folder, so sessions survive restarts."""
    path = instance_path / "secret_key"
    try:
        # O_EXCL: two processes starting together keep one key, not two.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32))
    return path.read_text().strip()
