-- 001_users.sql - accounts: users and their login sessions (refresh-token
-- families) with their rotated tokens.
-- Owned by core/users.c and core/sessions.c (docs/accounts.md).

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    -- Stored lower-case; unique whatever the letter case of a later sign-up.
    email text NOT NULL CHECK (email = lower(email) AND email <> ''),
    username text NOT NULL,
    -- "$argon2id$..." or a Django "pbkdf2_sha256$..." imported hash (upgraded
    -- at the next login); "!" marks an account without a usable password.
    password text NOT NULL,
    is_active boolean NOT NULL DEFAULT false,
    is_staff boolean NOT NULL DEFAULT false,
    is_superuser boolean NOT NULL DEFAULT false,
    phone text NOT NULL DEFAULT '',
    address text NOT NULL DEFAULT '',
    date_joined timestamptz NOT NULL DEFAULT now(),
    last_login timestamptz,
    -- Set by the confirmation link; part of what that link's token signs, so
    -- a link works once even if an admin deactivates the account later.
    email_confirmed_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (username);

-- Favourites (user_favorites) come with the videos in 003_videos.sql.

-- One row per login: the refresh-token family.  Its access tokens carry the
-- session id, so revoking the row (revoked_at) stops them too.
CREATE TABLE auth_sessions (
    id text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remember boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Expiry of the newest refresh token; the row is purged after it.
    expires_at timestamptz NOT NULL,
    -- The family's current refresh token (the one not yet rotated).
    head_jti text NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    client_ip text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);
CREATE INDEX auth_sessions_revoked_idx ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token issued; used_at is set when it is rotated, so that a
-- second presentation can be told apart (grace window, or reuse).
CREATE TABLE auth_refresh_tokens (
    jti text PRIMARY KEY,
    session_id text NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    replaced_by text
);
CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);
