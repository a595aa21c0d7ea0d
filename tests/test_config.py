"""Configuration: defaults, then instance/config.py, then GALLERY_* variables, then the mapping."""

from gallery import create_app


def test_defaults_put_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("GALLERY_DATABASE_URL")
    app = create_app(instance_path=tmp_path / "inst")
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'gallery.db'}"
    assert app.config["MAX_PROMPT_LENGTH"] == 10_000
    assert app.instance_path == str(tmp_path / "inst")


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = create_app(instance_path=tmp_path).config["SECRET_KEY"]
    assert len(first) == 64
    assert create_app(instance_path=tmp_path).config["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_instance_config_then_environment_then_mapping(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "MAX_PROMPT_LENGTH = 50\nPAGE_SIZE = 12\nSECRET_KEY = 'f'\n"
    )
    monkeypatch.setenv("GALLERY_PAGE_SIZE", "30")
    monkeypatch.setenv("GALLERY_SECRET_KEY", "from-env")
    monkeypatch.setenv("GALLERY_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    app = create_app({"THUMBNAIL_QUALITY": 70}, instance_path=tmp_path)
    assert app.config["MAX_PROMPT_LENGTH"] == 50
    assert app.config["PAGE_SIZE"] == 30  # parsed as a number
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DATABASE_URL"] == "sqlite:////tmp/elsewhere.db"
    assert app.config["THUMBNAIL_QUALITY"] == 70


def test_unsupported_database_url_is_a_clear_error(tmp_path):
    import pytest

    from gallery.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unsupported database URL 'mysql'"):
        create_app({"DATABASE_URL": "mysql://x"}, instance_path=tmp_path)


def test_instance_path_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("GALLERY_DATABASE_URL")
    elsewhere = tmp_path / "data" / "gallery"
    monkeypatch.setenv("GALLERY_INSTANCE_PATH", str(elsewhere))
    (elsewhere).mkdir(parents=True)
    (elsewhere / "config.py").write_text("PAGE_SIZE = 7\n")
    app = create_app()
    assert app.instance_path == str(elsewhere)
    assert app.config["PAGE_SIZE"] == 7  # its config.py is read
    assert app.config["DATABASE_URL"] == f"sqlite:///{elsewhere / 'gallery.db'}"
    assert (elsewhere / "secret_key").exists()
    # An explicit argument still wins.
    assert create_app(instance_path=tmp_path / "other").instance_path == str(tmp_path / "other")


def test_scripts_outside_an_app_read_the_environment_with_the_same_types(monkeypatch):
    from gallery.config import standalone_settings

    monkeypatch.setenv("GALLERY_PAGE_SIZE", "30")
    monkeypatch.setenv("GALLERY_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("GALLERY_SESSION_COOKIE_SAMESITE", "Strict")
    settings = standalone_settings()
    assert settings["PAGE_SIZE"] == 30
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Strict"
    assert settings["UNDO_MINUTES"] == 10  # a default


def test_a_bad_base_url_from_the_environment_is_a_clear_error(tmp_path, monkeypatch):
    import pytest

    from gallery.errors import InvalidInput

    monkeypatch.setenv("GALLERY_BASE_URL", "https://gallery.example.org/sub")
    with pytest.raises(InvalidInput, match="GALLERY_BASE_URL must be an origin"):
        create_app(instance_path=tmp_path)
