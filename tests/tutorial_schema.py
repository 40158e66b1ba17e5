"""The schema of the tutorial the app grew out of, as databases made with it still have it: what the
migrations adopt (shared by the migration and identity tests)."""

from __future__ import annotations

TUTORIAL_MYSQL_DDL = [
    "CREATE TABLE role (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL UNIQUE)",
    """CREATE TABLE user (
        id INT PRIMARY KEY AUTO_INCREMENT,
        email VARCHAR(50) NOT NULL,
        password_hash VARCHAR(100),
        role_id INT NOT NULL,
        update_date DATETIME NOT NULL,
        create_date DATETIME NOT NULL,
        FOREIGN KEY (role_id) REFERENCES role(id)
    )""",
    "CREATE UNIQUE INDEX ix_user_email ON user (email)",
]
TUTORIAL_SQLITE_DDL = [
    "CREATE TABLE role (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(64) NOT NULL UNIQUE)",
    """CREATE TABLE user (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email VARCHAR(50) NOT NULL,
        password_hash VARCHAR(100),
        role_id INTEGER NOT NULL REFERENCES role(id),
        update_date DATETIME NOT NULL,
        create_date DATETIME NOT NULL
    )""",
    "CREATE UNIQUE INDEX ix_user_email ON user (email)",
]
TUTORIAL_PASSWORD = "tutorial-era password 1"
