"""Database passwords never reach a screen or the log, in any of the forms people write URLs in; no SQL
parameter (a hash) reaches an error or the log; the URL can come from a file instead of the command line."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import exc, text

from desktop_auth.app import build_parser as gui_parser
from desktop_auth.cli import main
from desktop_auth.config import Settings, load_settings
from desktop_auth.db.engine import Database, _unavailable_message, make_engine, mask_url
from desktop_auth.logs import configure_logging
from desktop_auth.ui.shell.controller import AppController
from tests.conftest import CHEAP_HASH, MARIADB, make_settings, mariadb_admin
from tests.ui_helpers import click

SECRET = "Zq7-" + uuid.uuid4().hex[:10]
#: Each way a password gets into a URL; SECRET stands for it (and must never be shown).
LEAKY_URLS = {
    "unencoded @": f"mysql+pymysql://ops:pa@{SECRET}@127.0.0.1:1/app",
    "no scheme": f"ops:{SECRET}@127.0.0.1:1/app",
    "query argument": f"mysql+pymysql://ops@127.0.0.1:1/app?password={SECRET}",
    "query argument, then more": f"mysql+pymysql://ops@127.0.0.1:1/app?charset=utf8mb4&password={SECRET}",
    "percent-encoded": f"mysql+pymysql://ops:p%40ss%3A{SECRET}@127.0.0.1:1/app",
    "colon in password": f"mysql+pymysql://ops:pa:{SECRET}@127.0.0.1:1/app",
    "no @, password taken for a port": f"mysql+pymysql://ops:{SECRET}/app",
    "malformed scheme": f"mysql+pymysql//ops:{SECRET}@127.0.0.1:1/app",
    "a near miss of sqlite": f"sqlite3://ops:{SECRET}@dbhost/app",
    "sqlite with a host": f"sqlite://ops:{SECRET}@dbhost/app",
}
HASH = "scrypt:131072:8:1$Hx3kQ9ZsaltVALUE$" + "5f" * 32


@pytest.fixture
def log_text(log_dir: Path) -> Callable[[], str]:
    path = configure_logging(log_dir)
    return lambda: path.read_text(encoding="utf-8")


def assert_hidden(shown: str) -> None:
    assert SECRET not in shown, shown
    assert SECRET.lower() not in shown.lower(), shown


# -- the text itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", LEAKY_URLS.values(), ids=LEAKY_URLS.keys())
def test_mask_url_hides_every_form(url: str) -> None:
    assert_hidden(mask_url(url))


def test_mask_url_keeps_what_helps() -> None:
    assert mask_url("mysql+pymysql://ops:pw@db:3306/app?charset=utf8mb4") == (
        "mysql+pymysql://ops:***@db:3306/app?charset=utf8mb4"
    )
    assert mask_url("sqlite:///home/a@b/x.sqlite3") == "sqlite:///home/a@b/x.sqlite3"
    assert mask_url("mysql+pymysql://ops@db/app?password=a&b&ssl=1") == (
        "mysql+pymysql://ops@db/app?password=***&***&ssl=1"
    )


def test_a_driver_message_holding_the_password_is_masked() -> None:
    password = f"p@ss{SECRET}"
    for url in (
        f"mysql+pymysql://ops:p%40ss{SECRET}@127.0.0.1:1/app",
        f"mysql+pymysql://ops@127.0.0.1:1/app?password=p%40ss{SECRET}",
    ):
        engine = make_engine(make_settings(url))
        for echoed in (password, f"p%40ss{SECRET}"):
            error = exc.OperationalError(
                "SELECT 1", {}, Exception(f"(1045, 'denied for ops using {echoed}')")
            )
            message = str(_unavailable_message(engine, error))
            assert_hidden(message)
            assert "denied for ops" in message
        engine.dispose()


# -- the CLI, the start-up dialog and the log -------------------------------------------------------------


@pytest.mark.parametrize("url", LEAKY_URLS.values(), ids=LEAKY_URLS.keys())
def test_cli_stderr_never_shows_the_password(
    url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    log_text: Callable[[], str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--database-url", url, "users", "list"]) == 1
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["users", "list"]) == 1
    captured = capsys.readouterr()
    assert_hidden(captured.out + captured.err)
    assert captured.err.count("desktop-auth: error:") == 2, captured.err
    assert_hidden(log_text())


def visible_text(widget: QWidget) -> str:
    parts = [widget.windowTitle()]
    for child in widget.findChildren(QWidget):
        if isinstance(child, QLabel | QLineEdit):
            parts.append(child.text())
        parts += [child.toolTip(), child.accessibleName(), child.accessibleDescription()]
    return "\n".join(parts)


@pytest.fixture
def start_up_dialog(qtbot: QtBot, isolated_qsettings: None) -> Iterator[Callable[..., QWidget]]:
    controllers: list[AppController] = []

    def show(settings: Settings | Callable[[], Settings]) -> QWidget:
        controller = AppController(settings)
        controllers.append(controller)
        controller.start()
        qtbot.addWidget(controller.login)
        qtbot.waitUntil(
            lambda: (
                isinstance(controller.current, QWidget)
                and controller.current.objectName() == "startupErrorDialog"
                and controller.current.isVisible()
            ),
            timeout=15_000,
        )
        assert isinstance(controller.current, QWidget)
        return controller.current

    yield show
    for controller in controllers:
        dialog = controller.current
        if isinstance(dialog, QWidget) and dialog.objectName() == "startupErrorDialog":
            with qtbot.waitSignal(controller.finished, timeout=5_000):
                click(qtbot, dialog, "quitButton")
        controller.runner.wait()
        controller.shutdown()


@pytest.mark.parametrize("url", LEAKY_URLS.values(), ids=LEAKY_URLS.keys())
def test_start_up_dialog_and_log_never_show_the_password(
    url: str, start_up_dialog: Callable[..., QWidget], log_text: Callable[[], str]
) -> None:
    dialog = start_up_dialog(make_settings(url))
    shown = visible_text(dialog)
    assert "DATABASE_URL" in shown or "unavailable" in shown
    assert_hidden(shown)
    assert_hidden(log_text())


def test_a_missing_url_file_is_explained_in_the_dialog(
    start_up_dialog: Callable[..., QWidget], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "database-url"
    dialog = start_up_dialog(lambda: load_settings(database_url_file=missing, environ={}, dotenv_files=[]))
    assert str(missing) in visible_text(dialog)


# -- SQL parameters ------------------------------------------------------------------------------------


def test_no_sql_parameter_reaches_an_error_or_the_log(
    backend: str, fresh_url: str, log_text: Callable[[], str]
) -> None:
    database = Database(make_settings(fresh_url))
    try:
        with pytest.raises(Exception) as raised, database.transaction(write=True) as session:  # noqa: PT011
            session.execute(text("INSERT INTO no_such_table (password_hash) VALUES (:h)"), {"h": HASH})
        chain: list[BaseException] = []
        error: BaseException | None = raised.value
        while error is not None and error not in chain:
            chain.append(error)
            error = error.__cause__ or error.__context__
        assert any("no_such_table" in str(e) for e in chain)
        for e in chain:
            assert HASH not in str(e)
            assert "Hx3kQ9Zsalt" not in repr(e)
        logging.getLogger("tests.hide_parameters").error("A failed statement", exc_info=raised.value)
        assert "A failed statement" in log_text()
        assert "Hx3kQ9Zsalt" not in log_text()
    finally:
        database.dispose()


def test_the_log_masks_the_database_password_even_in_a_traceback(log_text: Callable[[], str]) -> None:
    engine = make_engine(make_settings(f"mysql+pymysql://ops:{SECRET}@127.0.0.1:1/app"))
    engine.dispose()
    logging.getLogger("tests.redaction").error("a message a careless caller wrote: %s", SECRET)
    try:
        raise RuntimeError(f"driver said {SECRET}")
    except RuntimeError:
        logging.getLogger("tests.redaction").exception("and a traceback")
    text_now = log_text()
    assert "a message a careless caller wrote: ***" in text_now
    assert "driver said ***" in text_now
    assert_hidden(text_now)


# -- the URL in a file -----------------------------------------------------------------------------------


@pytest.fixture
def url_with_password(backend: str, fresh_url: str) -> str:
    """On MariaDB a real account whose password is SECRET, so the file holds a secret worth keeping."""
    if backend == "sqlite":
        return fresh_url
    database = fresh_url.rsplit("/", 1)[1]
    user = f"urlfile_{uuid.uuid4().hex[:8]}"
    mariadb_admin(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{SECRET}'")
    mariadb_admin(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'")
    return f"mysql+pymysql://{user}:{SECRET}@{MARIADB['host']}:{MARIADB['port']}/{database}"


def test_url_file_option_and_setting_work_end_to_end(
    url_with_password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url_file = tmp_path / "database-url"
    url_file.write_text(f"  {url_with_password}  \nanything after the first line is ignored\n")

    assert main(["--database-url-file", str(url_file), "db", "upgrade"]) == 0
    assert main(["--database-url-file", str(url_file), "roles", "add", "auditor"]) == 0
    monkeypatch.setenv("DATABASE_URL_FILE", str(url_file))
    assert main(["roles", "list"]) == 0
    captured = capsys.readouterr()
    assert "auditor" in captured.out
    assert_hidden(captured.out + captured.err)

    # A .env can name the file too.
    monkeypatch.delenv("DATABASE_URL_FILE")
    (tmp_path / ".env").write_text(f"DATABASE_URL_FILE={url_file}\n")
    assert main(["db", "current"]) == 0
    assert "(current)" in capsys.readouterr().out


def test_url_sources_precedence(tmp_path: Path) -> None:
    files = {}
    for name in ("option", "setting"):
        files[name] = tmp_path / name
        files[name].write_text(f"sqlite:///{name}-file\n")
    environ = {"DATABASE_URL": "sqlite:///env-url", "DATABASE_URL_FILE": str(files["setting"])}

    def url(**kwargs: object) -> str:
        return load_settings(dotenv_files=[], **kwargs).database_url  # type: ignore[arg-type]

    assert url(database_url="sqlite:///flag", database_url_file=files["option"], environ=environ) == (
        "sqlite:///flag"
    )
    assert url(database_url_file=files["option"], environ=environ) == "sqlite:///option-file"
    assert url(environ=environ) == "sqlite:///env-url"
    assert url(environ={"DATABASE_URL_FILE": str(files["setting"])}) == "sqlite:///setting-file"
    assert not load_settings(environ={"DATABASE_URL_FILE": str(files["setting"])}, dotenv_files=[]).embedded


def test_giving_both_options_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for parse in (lambda argv: main([*argv, "users", "list"]), gui_parser().parse_args):
        with pytest.raises(SystemExit) as exited:
            parse(["--database-url", "sqlite:///a", "--database-url-file", "b"])
        assert exited.value.code == 2
        assert "not allowed with" in capsys.readouterr().err
    assert gui_parser().parse_args(["--database-url-file", "f"]).database_url_file == "f"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        (b"", "first line is empty"),
        (b"   \n" + f"mysql+pymysql://ops:{SECRET}@db/app\n".encode(), "first line is empty"),
        (b"\xff\xfe" + SECRET.encode() + b"\xff", "not UTF-8"),
        ("directory", "cannot be read"),
    ],
    ids=["missing", "empty", "blank first line", "not text", "a folder"],
)
def test_a_bad_url_file_is_a_clear_error_that_shows_nothing_of_it(
    content: bytes | str | None,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "database-url"
    if content == "directory":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    assert main(["--database-url-file", str(path), "users", "list"]) == 1
    monkeypatch.setenv("DATABASE_URL_FILE", str(path))
    assert main(["users", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"'{path}'") == 2, err
    assert err.count(expected) == 2, err
    assert "--database-url-file names" in err
    assert "DATABASE_URL_FILE names" in err
    assert_hidden(err)
