"""The ordered schema migrations; a database's version is how many it has applied."""

# 1. The design document's table and indexes, verbatim.
PROMPTS_TABLE = [
    """CREATE TABLE prompts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt_text TEXT NOT NULL,
    prompt_hash TEXT NOT NULL UNIQUE,
    total_uses INTEGER NOT NULL DEFAULT 1,
    first_used_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    model TEXT,
    thumbnail_data BLOB,
    thumbnail_mime TEXT,
    thumbnail_width INTEGER,
    thumbnail_height INTEGER
)""",
    "CREATE UNIQUE INDEX idx_prompts_hash ON prompts (prompt_hash)",
    "CREATE INDEX idx_prompts_last_used ON prompts (last_used_at DESC)",
    "CREATE INDEX idx_prompts_total_uses ON prompts (total_uses DESC)",
    "CREATE INDEX idx_prompts_model ON prompts (model)",
]

# 2. Full-text index over prompt_text, external content kept in step by triggers.
# The update trigger fires on prompt_text only, so counting a use never touches it.
PROMPTS_FTS = [
    """CREATE VIRTUAL TABLE prompts_fts USING fts5(
    prompt_text,
    content='prompts',
    content_rowid='id',
    tokenize='unicode61 remove_diacritics 2',
    prefix='2 3'
)""",
    """CREATE TRIGGER prompts_fts_insert AFTER INSERT ON prompts BEGIN
    INSERT INTO prompts_fts (rowid, prompt_text) VALUES (new.id, new.prompt_text);
END""",
    """CREATE TRIGGER prompts_fts_delete AFTER DELETE ON prompts BEGIN
    INSERT INTO prompts_fts (prompts_fts, rowid, prompt_text)
    VALUES ('delete', old.id, old.prompt_text);
END""",
    """CREATE TRIGGER prompts_fts_update AFTER UPDATE OF prompt_text ON prompts BEGIN
    INSERT INTO prompts_fts (prompts_fts, rowid, prompt_text)
    VALUES ('delete', old.id, old.prompt_text);
    INSERT INTO prompts_fts (rowid, prompt_text) VALUES (new.id, new.prompt_text);
END""",
    "INSERT INTO prompts_fts (prompts_fts) VALUES ('rebuild')",
]

# 3. A model filter with a sort: without these the planner takes the model index
# and sorts every match; with them it walks the index in order and stops early.
MODEL_SORT_INDEXES = [
    "CREATE INDEX idx_prompts_model_last_used ON prompts (model, last_used_at DESC)",
    "CREATE INDEX idx_prompts_model_total_uses ON prompts (model, total_uses DESC)",
]

# 4. API tokens, stored as hashes only.
API_TOKENS = [
    """CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
)""",
    # A name is taken only while its token is live, so a revoked name can be reused.
    "CREATE UNIQUE INDEX idx_api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL",
]

# 5. Files the importer has read: a content hash makes re-imports skip them, and the
# raw metadata lets a better reader re-interpret them later without the file.
IMPORTED_FILES = [
    """CREATE TABLE imported_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    prompt_id INTEGER REFERENCES prompts (id) ON DELETE SET NULL,
    generator TEXT,
    raw_metadata TEXT,
    imported_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)""",
    "CREATE INDEX idx_imported_files_prompt ON imported_files (prompt_id)",
]

MIGRATIONS = [PROMPTS_TABLE, PROMPTS_FTS, MODEL_SORT_INDEXES, API_TOKENS, IMPORTED_FILES]
