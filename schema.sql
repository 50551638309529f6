-- ewsfleet database schema: the one source of truth for the database.
--
-- `ewsfleet db migrate` applies each section that starts with a `-- migration: N name` line exactly
-- once, in order, all pending ones in one transaction under an advisory lock, and records each in
-- schema_migrations with a checksum. Re-running is a no-op. NEVER edit a section that has shipped:
-- append a new `-- migration: N+1 ...` section instead (migrate refuses a changed checksum).
--
-- The tables are an interface that operators query; README.md documents every column.

-- migration: 1 initial_schema

-- Organisations. One service identity (and so one EWS throttling budget) per tenant.
CREATE TABLE tenants (
    id                           bigserial PRIMARY KEY,
    name                         text NOT NULL UNIQUE
                                 CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    ews_url                      text NOT NULL CHECK (ews_url ~ '^https?://'),
    autodiscover_url             text CHECK (autodiscover_url IS NULL OR autodiscover_url ~ '^https?://'),
    auth_kind                    text NOT NULL CHECK (auth_kind IN ('oauth2', 'basic', 'ntlm', 'negotiate')),
    identity                     text NOT NULL,          -- username (basic/ntlm/negotiate) or client id (oauth2)
    token_url                    text,                   -- oauth2 only
    scope                        text,                   -- oauth2 only
    secret_ciphertext            bytea,                  -- AES-GCM sealed secret; never clear text
    secret_key_id                text,                   -- which key sealed it (rotation)
    impersonation                boolean NOT NULL DEFAULT true,
    max_concurrent_requests      integer NOT NULL DEFAULT 10 CHECK (max_concurrent_requests BETWEEN 1 AND 1000),
    request_rate                 double precision NOT NULL DEFAULT 20 CHECK (request_rate > 0),
    subscriptions_per_connection integer NOT NULL DEFAULT 200 CHECK (subscriptions_per_connection BETWEEN 1 AND 200),
    ca_bundle                    text,
    insecure_tls                 boolean NOT NULL DEFAULT false,
    state                        text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'blocked', 'disabled')),
    state_reason                 text,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now(),
    CHECK (auth_kind <> 'oauth2' OR (token_url IS NOT NULL AND scope IS NOT NULL)),
    CHECK ((secret_ciphertext IS NULL) = (secret_key_id IS NULL))
);

-- Watched mailboxes. smtp_address is stored lower-case so uniqueness is case-insensitive.
CREATE TABLE mailboxes (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    smtp_address  text NOT NULL CHECK (smtp_address = lower(smtp_address)
                                       AND smtp_address ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    watch_all     boolean NOT NULL DEFAULT false,       -- true: every folder (SubscribeToAllFolders)
    folders       text[] NOT NULL DEFAULT '{inbox}',    -- distinguished names or folder ids, when not watch_all
    enabled       boolean NOT NULL DEFAULT true,        -- false = paused
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, smtp_address),
    CHECK (watch_all OR cardinality(folders) > 0)
);

-- The live streaming subscription of a mailbox, reused across restarts.
CREATE TABLE subscriptions (
    mailbox_id        bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    subscription_id   text NOT NULL,
    group_key         text NOT NULL,          -- ExternalEwsUrl + GroupingInformation (or cookie server)
    anchor_mailbox    text NOT NULL,          -- X-AnchorMailbox of the group
    affinity_cookie   text,                   -- X-BackEndOverrideCookie value of the group
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_event_at     timestamptz,
    last_heartbeat_at timestamptz
);

-- SyncFolderItems state per watched folder. sync_state is opaque and can be large: text, never truncated.
CREATE TABLE folder_sync (
    mailbox_id        bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder_id         text NOT NULL,
    display_name      text,
    sync_state        text NOT NULL DEFAULT '',
    last_sync_at      timestamptz,
    last_full_sync_at timestamptz,
    PRIMARY KEY (mailbox_id, folder_id)
);

-- The mirror of every watched folder as it is now. A deleted item leaves; its history stays in changes.
CREATE TABLE items (
    mailbox_id      bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    folder_id       text NOT NULL,
    item_id         text NOT NULL,
    change_key      text NOT NULL DEFAULT '',
    is_read         boolean,
    subject         text,
    sender          text,
    received_at     timestamptz,
    size_bytes      bigint,
    has_attachments boolean,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox_id, item_id)
);
CREATE INDEX items_by_folder ON items (mailbox_id, folder_id);

-- Append-only outbox. Followers read it in (txid, id) order and only below the oldest running
-- transaction (pg_snapshot_xmin), so a row committed late with a lower id is never skipped.
-- mailbox_id is kept without a foreign key so history outlives a removed mailbox.
CREATE TABLE changes (
    id           bigserial PRIMARY KEY,
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    tenant       text NOT NULL,
    mailbox      text NOT NULL,
    mailbox_id   bigint NOT NULL,
    folder_id    text NOT NULL,
    item_id      text NOT NULL,
    change_key   text NOT NULL DEFAULT '',      -- '' when EWS gives none (deletes): no NULL loophole
    kind         text NOT NULL CHECK (kind IN ('created', 'updated', 'read_flag', 'deleted')),
    is_read      boolean,
    properties   jsonb NOT NULL DEFAULT '{}'::jsonb,
    observed_at  timestamptz NOT NULL,          -- when ewsfleet received the sync page
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (mailbox_id, item_id, change_key, kind)
);
CREATE INDEX changes_follow ON changes (txid, id);
CREATE INDEX changes_by_tenant_time ON changes (tenant, committed_at);
CREATE INDEX changes_by_mailbox_time ON changes (mailbox, committed_at);

-- One NOTIFY per inserting statement (not per row): it only wakes followers early.
CREATE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ewsfleet_changes', '');
    RETURN NULL;
END $$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION changes_notify();

-- A named reader's position in changes, so it resumes where it stopped.
CREATE TABLE consumers (
    name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    position_txid xid8 NOT NULL DEFAULT '0'::xid8,
    position_id   bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- What each mailbox actor is doing, for operators and for rescheduling.
CREATE TABLE mailbox_status (
    mailbox_id           bigint PRIMARY KEY REFERENCES mailboxes (id) ON DELETE CASCADE,
    state                text NOT NULL DEFAULT 'idle'
                         CHECK (state IN ('idle', 'subscribing', 'streaming', 'syncing', 'backing_off', 'failed', 'paused')),
    state_since          timestamptz NOT NULL DEFAULT now(),
    last_error_code      text,
    last_error_message   text,
    consecutive_failures integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz,
    last_change_at       timestamptz,
    instance_id          text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Running service instances (heartbeats), and tenant leases: all mailboxes of a tenant run on one
-- instance. epoch grows with every takeover; checkpoints check it so a stale instance cannot commit.
CREATE TABLE fleet_instances (
    instance_id  text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    version      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);

CREATE TABLE tenant_leases (
    tenant_id   bigint PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    instance_id text,                        -- NULL once released
    epoch       bigint NOT NULL DEFAULT 1,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    renewed_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- Control messages for running instances: tenant and mailbox edits wake the supervisor.
-- Payload is the tenant id, so PostgreSQL folds a bulk import into one notification per tenant.
CREATE FUNCTION control_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tid bigint;
BEGIN
    IF TG_TABLE_NAME = 'tenants' THEN
        tid := COALESCE(NEW.id, OLD.id);
    ELSE
        tid := COALESCE(NEW.tenant_id, OLD.tenant_id);
    END IF;
    PERFORM pg_notify('ewsfleet_control', TG_TABLE_NAME || ':' || tid);
    RETURN NULL;
END $$;
CREATE TRIGGER tenants_control AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION control_notify();
CREATE TRIGGER mailboxes_control AFTER INSERT OR UPDATE OR DELETE ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION control_notify();

-- Per tenant: mailboxes per state, changes in the last hour, failing mailboxes, lease holder.
CREATE VIEW tenant_summary AS
SELECT t.name                                                        AS tenant,
       t.state                                                       AS tenant_state,
       count(m.id)                                                   AS mailboxes,
       count(m.id) FILTER (WHERE NOT m.enabled)                      AS paused,
       count(m.id) FILTER (WHERE m.enabled AND coalesce(s.state, 'idle') = 'idle')  AS idle,
       count(m.id) FILTER (WHERE s.state = 'subscribing')            AS subscribing,
       count(m.id) FILTER (WHERE s.state = 'streaming')              AS streaming,
       count(m.id) FILTER (WHERE s.state = 'syncing')                AS syncing,
       count(m.id) FILTER (WHERE s.state = 'backing_off')            AS backing_off,
       count(m.id) FILTER (WHERE s.state = 'failed')                 AS failed,
       count(m.id) FILTER (WHERE s.consecutive_failures > 0)         AS failing,
       (SELECT count(*) FROM changes c
         WHERE c.tenant = t.name AND c.committed_at > now() - interval '1 hour') AS changes_last_hour,
       l.instance_id                                                 AS lease_instance,
       l.expires_at                                                  AS lease_expires_at
  FROM tenants t
  LEFT JOIN mailboxes m ON m.tenant_id = t.id
  LEFT JOIN mailbox_status s ON s.mailbox_id = m.id
  LEFT JOIN tenant_leases l ON l.tenant_id = t.id
 GROUP BY t.id, t.name, t.state, l.instance_id, l.expires_at;

-- Enabled mailboxes that are not streaming, or whose oldest folder sync is over 30 minutes old
-- (twice the default safety-sync interval).
CREATE VIEW lagging_mailboxes AS
SELECT t.name                                             AS tenant,
       m.smtp_address                                     AS mailbox,
       coalesce(s.state, 'idle')                          AS state,
       s.state_since,
       min(f.last_sync_at)                                AS oldest_sync_at,
       extract(epoch FROM now() - coalesce(min(f.last_sync_at), m.created_at))::bigint AS lag_seconds,
       s.last_error_code,
       s.consecutive_failures,
       s.next_attempt_at
  FROM mailboxes m
  JOIN tenants t ON t.id = m.tenant_id
  LEFT JOIN mailbox_status s ON s.mailbox_id = m.id
  LEFT JOIN folder_sync f ON f.mailbox_id = m.id
 WHERE m.enabled AND t.state = 'active'
 GROUP BY t.name, m.smtp_address, m.created_at, s.state, s.state_since, s.last_error_code,
          s.consecutive_failures, s.next_attempt_at
HAVING coalesce(s.state, 'idle') <> 'streaming'
    OR coalesce(min(f.last_sync_at), m.created_at) < now() - interval '30 minutes';

-- migration: 2 hanging_connection_limit
-- Streaming (hanging) connections one identity may hold: EWS HangingConnectionLimit, 10 in
-- Exchange Online and Exchange 2016/2019, 3 in Exchange 2013 (fact sheet §8.1). A tenant that
-- impersonates charges each connection to its group's anchor mailbox instead, so the limit only
-- caps tenants without impersonation; their mailboxes that find no connection are 'polling'.
ALTER TABLE tenants ADD COLUMN hanging_connections integer NOT NULL DEFAULT 10
    CHECK (hanging_connections BETWEEN 1 AND 1000);

ALTER TABLE mailbox_status DROP CONSTRAINT mailbox_status_state_check;
ALTER TABLE mailbox_status ADD CONSTRAINT mailbox_status_state_check
    CHECK (state IN ('idle', 'subscribing', 'streaming', 'polling', 'syncing', 'backing_off', 'failed', 'paused'));

-- `ewsfleet mailbox resync` stamps this, so a running instance resyncs the mailbox at once.
ALTER TABLE mailboxes ADD COLUMN resync_requested_at timestamptz;

-- As before, plus the polling count (new columns go last: CREATE OR REPLACE keeps the old ones).
CREATE OR REPLACE VIEW tenant_summary AS
SELECT t.name                                                        AS tenant,
       t.state                                                       AS tenant_state,
       count(m.id)                                                   AS mailboxes,
       count(m.id) FILTER (WHERE NOT m.enabled)                      AS paused,
       count(m.id) FILTER (WHERE m.enabled AND coalesce(s.state, 'idle') = 'idle')  AS idle,
       count(m.id) FILTER (WHERE s.state = 'subscribing')            AS subscribing,
       count(m.id) FILTER (WHERE s.state = 'streaming')              AS streaming,
       count(m.id) FILTER (WHERE s.state = 'syncing')                AS syncing,
       count(m.id) FILTER (WHERE s.state = 'backing_off')            AS backing_off,
       count(m.id) FILTER (WHERE s.state = 'failed')                 AS failed,
       count(m.id) FILTER (WHERE s.consecutive_failures > 0)         AS failing,
       (SELECT count(*) FROM changes c
         WHERE c.tenant = t.name AND c.committed_at > now() - interval '1 hour') AS changes_last_hour,
       l.instance_id                                                 AS lease_instance,
       l.expires_at                                                  AS lease_expires_at,
       count(m.id) FILTER (WHERE s.state = 'polling')                AS polling
  FROM tenants t
  LEFT JOIN mailboxes m ON m.tenant_id = t.id
  LEFT JOIN mailbox_status s ON s.mailbox_id = m.id
  LEFT JOIN tenant_leases l ON l.tenant_id = t.id
 GROUP BY t.id, t.name, t.state, l.instance_id, l.expires_at;

-- migration: 3 folder_ids

-- The EWS folder id of each synced folder. Notifications name folders by id (ParentFolderId), never
-- by distinguished name, so this lets a notification mark only the folder it concerns. NULL until
-- learned (GetFolder for distinguished names, SyncFolderHierarchy in all-folders mode).
--
-- In all-folders mode the SyncFolderHierarchy SyncState is kept in this table too, in the row with
-- the reserved folder_id '#hierarchy' (EWS folder ids are base64 and distinguished names are
-- lower-case words, so '#' can never collide), and the folders it discovered are the other rows.
ALTER TABLE folder_sync ADD COLUMN ews_folder_id text;

-- migration: 4 grouping_and_stale_status

-- How a tenant's mailboxes share streaming connections. 'auto': up to 200 subscriptions of one
-- mailbox server on one connection (Exchange, fact sheet §8.3). 'per_mailbox': one connection per
-- mailbox, for a server that binds a subscription to the impersonated user and so refuses the
-- other members of a grouped connection (gromox). ewsfleet switches a tenant to 'per_mailbox' by
-- itself when the server refuses grouped subscriptions, saying why in grouping_reason;
-- `ewsfleet tenant update --grouping auto` resets it.
ALTER TABLE tenants ADD COLUMN grouping text NOT NULL DEFAULT 'auto'
    CHECK (grouping IN ('auto', 'per_mailbox'));
ALTER TABLE tenants ADD COLUMN grouping_reason text;

-- After how long without a heartbeat an instance counts as gone: its mailboxes' status rows are
-- then shown as 'stale' (their state is what a dead process last said). Each instance sets it from
-- its own heartbeat interval.
ALTER TABLE fleet_instances ADD COLUMN stale_after_seconds integer NOT NULL DEFAULT 90
    CHECK (stale_after_seconds > 0);

-- Each status row as it should be read: 'stale' when the instance that wrote it has stopped or
-- missed its heartbeats (a crash, a lost host), else the stored state.
CREATE VIEW mailbox_status_now AS
SELECT s.mailbox_id,
       CASE WHEN s.state IN ('idle', 'paused') THEN s.state
            WHEN i.instance_id IS NULL OR i.stopped_at IS NOT NULL
                 OR i.heartbeat_at < now() - make_interval(secs => i.stale_after_seconds) THEN 'stale'
            ELSE s.state END                                           AS state,
       s.state AS stored_state, s.state_since, s.last_error_code, s.last_error_message, s.consecutive_failures,
       s.next_attempt_at, s.last_change_at, s.instance_id, s.updated_at
  FROM mailbox_status s
  LEFT JOIN fleet_instances i ON i.instance_id = s.instance_id;

-- As before, reading mailbox_status_now, plus the stale count and the grouping mode.
CREATE OR REPLACE VIEW tenant_summary AS
SELECT t.name                                                        AS tenant,
       t.state                                                       AS tenant_state,
       count(m.id)                                                   AS mailboxes,
       count(m.id) FILTER (WHERE NOT m.enabled)                      AS paused,
       count(m.id) FILTER (WHERE m.enabled AND coalesce(s.state, 'idle') = 'idle')  AS idle,
       count(m.id) FILTER (WHERE s.state = 'subscribing')            AS subscribing,
       count(m.id) FILTER (WHERE s.state = 'streaming')              AS streaming,
       count(m.id) FILTER (WHERE s.state = 'syncing')                AS syncing,
       count(m.id) FILTER (WHERE s.state = 'backing_off')            AS backing_off,
       count(m.id) FILTER (WHERE s.state = 'failed')                 AS failed,
       count(m.id) FILTER (WHERE s.consecutive_failures > 0)         AS failing,
       (SELECT count(*) FROM changes c
         WHERE c.tenant = t.name AND c.committed_at > now() - interval '1 hour') AS changes_last_hour,
       l.instance_id                                                 AS lease_instance,
       l.expires_at                                                  AS lease_expires_at,
       count(m.id) FILTER (WHERE s.state = 'polling')                AS polling,
       count(m.id) FILTER (WHERE m.enabled AND s.state = 'stale')    AS stale,
       t.grouping                                                    AS grouping
  FROM tenants t
  LEFT JOIN mailboxes m ON m.tenant_id = t.id
  LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
  LEFT JOIN tenant_leases l ON l.tenant_id = t.id
 GROUP BY t.id, t.name, t.state, t.grouping, l.instance_id, l.expires_at;

-- As before, reading mailbox_status_now: a stale mailbox is lagging whatever it last said.
CREATE OR REPLACE VIEW lagging_mailboxes AS
SELECT t.name                                             AS tenant,
       m.smtp_address                                     AS mailbox,
       coalesce(s.state, 'idle')                          AS state,
       s.state_since,
       min(f.last_sync_at)                                AS oldest_sync_at,
       extract(epoch FROM now() - coalesce(min(f.last_sync_at), m.created_at))::bigint AS lag_seconds,
       s.last_error_code,
       s.consecutive_failures,
       s.next_attempt_at
  FROM mailboxes m
  JOIN tenants t ON t.id = m.tenant_id
  LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
  LEFT JOIN folder_sync f ON f.mailbox_id = m.id
 WHERE m.enabled AND t.state = 'active'
 GROUP BY t.name, m.smtp_address, m.created_at, s.state, s.state_since, s.last_error_code,
          s.consecutive_failures, s.next_attempt_at
HAVING coalesce(s.state, 'idle') <> 'streaming'
    OR coalesce(min(f.last_sync_at), m.created_at) < now() - interval '30 minutes';

-- migration: 5 outbox_step_key
-- The outbox's uniqueness no longer rests on the ChangeKey changing. A server may keep an item's
-- ChangeKey on a read-state change (or report none), and then (mailbox, item, change_key, kind)
-- let read -> unread -> read record one row. Each row now also names its folder and the sync step
-- that produced it: for an incremental page, a hash of the SyncState the page was requested with
-- (a replayed page has the same one, so it inserts nothing twice); for a page of a from-scratch
-- resync or a dropped folder, a fresh token (those emit only what differs from the mirror, which
-- keeps them from emitting twice). Existing rows keep sync_step '': the old key was unique, and
-- the new one contains it, so nothing has to be rewritten.
--
-- On a large table build the index beforehand, while the old version runs, with the statements in
-- README "Upgrading"; this migration then finds it valid and only swaps the constraint, which takes
-- a brief lock. Adding a column with a constant default rewrites nothing (PostgreSQL 11+).
ALTER TABLE changes ADD COLUMN IF NOT EXISTS sync_step text NOT NULL DEFAULT '';
DO $$
BEGIN
    -- A CREATE INDEX CONCURRENTLY that failed leaves an invalid index behind: build it again.
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('changes_step_key') AND NOT indisvalid) THEN
        DROP INDEX changes_step_key;
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS changes_step_key
    ON changes (mailbox_id, folder_id, item_id, kind, change_key, sync_step);
ALTER TABLE changes DROP CONSTRAINT IF EXISTS changes_mailbox_id_item_id_change_key_kind_key;

-- migration: 6 allow_plain_http
-- Every auth kind sends a credential with each request (a password, an NTLM or Kerberos token, a
-- client secret or the bearer token it buys), which plain http:// hands to anyone on the path. A
-- tenant's credential goes only to https:// URLs (ews_url, autodiscover_url, and token_url for
-- oauth2) unless allow_plain_http says this tenant may use plain http (a lab or test server).
-- The rule lives in the code (PlainHTTPRefusal): `tenant add|update` refuse such a row, and the
-- service disables one changed behind its back instead of sending the credential.
ALTER TABLE tenants ADD COLUMN allow_plain_http boolean NOT NULL DEFAULT false;

-- Tenants that use plain http today keep working: they are allowed it explicitly.
UPDATE tenants SET allow_plain_http = true
 WHERE ews_url !~* '^https://' OR autodiscover_url !~* '^https://'
    OR (auth_kind = 'oauth2' AND token_url !~* '^https://');

-- migration: 7 lease_run_identity
-- A lease belongs to one process run, not only to a configured instance id: two processes started
-- with the same `instance.id` (a configuration copied to two hosts, a restart while the old process
-- still lives) must never share an epoch or renew each other's leases. holder_run is a random token
-- each `ewsfleet run` draws at start; a lease is ours only while both instance_id and holder_run
-- match, and a run never takes a live lease it does not hold, whatever its instance id (it waits
-- for expiry like any other instance). NULL once released, and on rows written before this
-- migration, which therefore count as held by someone else until they expire.
ALTER TABLE tenant_leases ADD COLUMN holder_run text;
-- The run that wrote the last heartbeat, so a process marks its instance stopped only if no other
-- run with the same instance id took the row over, and a second live run under one id is noticed.
ALTER TABLE fleet_instances ADD COLUMN run_id text;

-- migration: 8 sync_only_mode
-- Sync-only mode (Microsoft's second synchronization pattern): no subscription; each watched folder
-- is synced from its stored SyncState every poll interval. Per tenant, overridable per mailbox
-- (NULL there = the tenant's). Between its syncs such a mailbox reads 'scheduled', with
-- next_attempt_at = its next sync.
ALTER TABLE tenants ADD COLUMN sync_mode text NOT NULL DEFAULT 'notify'
    CHECK (sync_mode IN ('notify', 'sync-only'));
ALTER TABLE tenants ADD COLUMN poll_interval_seconds integer NOT NULL DEFAULT 60
    CHECK (poll_interval_seconds BETWEEN 10 AND 86400);
ALTER TABLE mailboxes ADD COLUMN sync_mode text CHECK (sync_mode IN ('notify', 'sync-only'));
ALTER TABLE mailboxes ADD COLUMN poll_interval_seconds integer CHECK (poll_interval_seconds BETWEEN 10 AND 86400);

ALTER TABLE mailbox_status DROP CONSTRAINT mailbox_status_state_check;
ALTER TABLE mailbox_status ADD CONSTRAINT mailbox_status_state_check
    CHECK (state IN ('idle', 'subscribing', 'streaming', 'polling', 'scheduled', 'syncing', 'backing_off', 'failed',
                     'paused'));

-- As before, plus the scheduled count and the tenant's mode.
CREATE OR REPLACE VIEW tenant_summary AS
SELECT t.name                                                        AS tenant,
       t.state                                                       AS tenant_state,
       count(m.id)                                                   AS mailboxes,
       count(m.id) FILTER (WHERE NOT m.enabled)                      AS paused,
       count(m.id) FILTER (WHERE m.enabled AND coalesce(s.state, 'idle') = 'idle')  AS idle,
       count(m.id) FILTER (WHERE s.state = 'subscribing')            AS subscribing,
       count(m.id) FILTER (WHERE s.state = 'streaming')              AS streaming,
       count(m.id) FILTER (WHERE s.state = 'syncing')                AS syncing,
       count(m.id) FILTER (WHERE s.state = 'backing_off')            AS backing_off,
       count(m.id) FILTER (WHERE s.state = 'failed')                 AS failed,
       count(m.id) FILTER (WHERE s.consecutive_failures > 0)         AS failing,
       (SELECT count(*) FROM changes c
         WHERE c.tenant = t.name AND c.committed_at > now() - interval '1 hour') AS changes_last_hour,
       l.instance_id                                                 AS lease_instance,
       l.expires_at                                                  AS lease_expires_at,
       count(m.id) FILTER (WHERE s.state = 'polling')                AS polling,
       count(m.id) FILTER (WHERE m.enabled AND s.state = 'stale')    AS stale,
       t.grouping                                                    AS grouping,
       count(m.id) FILTER (WHERE s.state = 'scheduled')              AS scheduled,
       t.sync_mode                                                   AS sync_mode
  FROM tenants t
  LEFT JOIN mailboxes m ON m.tenant_id = t.id
  LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
  LEFT JOIN tenant_leases l ON l.tenant_id = t.id
 GROUP BY t.id, t.name, t.state, t.grouping, t.sync_mode, l.instance_id, l.expires_at;

-- As before, but a sync-only mailbox between or in its syncs ('scheduled', 'syncing') is lagging
-- only when a sync is overdue: its oldest folder sync is older than two of its intervals plus a
-- minute (one late sync is not news; two missed ones are).
CREATE OR REPLACE VIEW lagging_mailboxes AS
SELECT t.name                                             AS tenant,
       m.smtp_address                                     AS mailbox,
       coalesce(s.state, 'idle')                          AS state,
       s.state_since,
       min(f.last_sync_at)                                AS oldest_sync_at,
       extract(epoch FROM now() - coalesce(min(f.last_sync_at), m.created_at))::bigint AS lag_seconds,
       s.last_error_code,
       s.consecutive_failures,
       s.next_attempt_at
  FROM mailboxes m
  JOIN tenants t ON t.id = m.tenant_id
  LEFT JOIN mailbox_status_now s ON s.mailbox_id = m.id
  LEFT JOIN folder_sync f ON f.mailbox_id = m.id
 WHERE m.enabled AND t.state = 'active'
 GROUP BY t.name, t.sync_mode, t.poll_interval_seconds, m.smtp_address, m.created_at, m.sync_mode,
          m.poll_interval_seconds, s.state, s.state_since, s.last_error_code, s.consecutive_failures, s.next_attempt_at
HAVING CASE
         WHEN coalesce(m.sync_mode, t.sync_mode) = 'sync-only' AND s.state IN ('scheduled', 'syncing')
           THEN coalesce(min(f.last_sync_at), m.created_at)
                < now() - make_interval(secs => 2 * coalesce(m.poll_interval_seconds, t.poll_interval_seconds) + 60)
         WHEN s.state = 'streaming'
           THEN coalesce(min(f.last_sync_at), m.created_at) < now() - interval '30 minutes'
         ELSE true
       END;

-- migration: 9 mailbox_start
-- Where a mailbox's outbox starts. 'backfill' (as before): every item its folders hold at the first
-- sync becomes a `created` row, fetched with GetItem. 'now': a folder it knows nothing of (no
-- SyncState, nothing mirrored) is baselined: its items are mirrored from the sync pages (ids and
-- IsRead) with no GetItem and no outbox row, and only later changes are recorded.
ALTER TABLE mailboxes ADD COLUMN start_mode text NOT NULL DEFAULT 'backfill' CHECK (start_mode IN ('backfill', 'now'));
-- A baseline in progress: its pages so far are mirrored, its last page not yet reached. A baseline
-- interrupted (a crash, a restart) goes on as one, although the mirror is no longer empty.
ALTER TABLE folder_sync ADD COLUMN baselining boolean NOT NULL DEFAULT false;

-- migration: 10 mailbox_ignores
-- Items a mailbox's syncs skip: SyncFolderItems' Ignore element (`mailbox ignore`, e.g. for a
-- reply-all storm). Changes to them are not recorded, by design, while they are listed; a sync from
-- scratch does not take them for deleted. At most 1000 per mailbox (MailboxRepository.ignoreLimit).
CREATE TABLE mailbox_ignores (
    mailbox_id bigint      NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    item_id    text        NOT NULL CHECK (item_id <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox_id, item_id)
);

-- migration: 11 property_profiles
-- What a tenant's changes carry in changes.properties (`tenant add|update --properties`): 'default',
-- 'extended', or a comma-separated list of field and set names (PropertyProfile). body_preview is
-- personal data: only when named, and it lives in changes alone (never in the mirror), so the
-- retention of `changes prune` removes it.
ALTER TABLE tenants ADD COLUMN item_properties text NOT NULL DEFAULT 'default'
    CHECK (item_properties ~ '^[a-z_]+(,[a-z_]+)*$');
-- The mirror's copy of the extended fields of the tenant's profile (JSON, keys as in
-- changes.properties; '{}' under the default profile). A constant default: no table rewrite.
ALTER TABLE items ADD COLUMN properties jsonb NOT NULL DEFAULT '{}'::jsonb;

-- migration: 12 filtered_scope
-- A mailbox's filtered scope (`mailbox add|update --filter`, MailboxFilter's canonical text; NULL =
-- every item): only items it matches reach the mirror and changes.
ALTER TABLE mailboxes ADD COLUMN filter text CHECK (filter IS NULL OR length(filter) BETWEEN 1 AND 1000);
-- The filter a folder's mirror was last scoped under ('' = none), written by the last page of a
-- sync from scratch. A folder whose scope differs from its mailbox's filter syncs from scratch
-- (diffed against the mirror), so a filter change lands as created and deleted rows.
ALTER TABLE folder_sync ADD COLUMN filter_scope text NOT NULL DEFAULT '';

-- migration: 13 items_folder_key
-- A search folder (`--folder search:NAME`) lists items that keep the ItemIds of their real folders,
-- so one item can be mirrored twice: in its real folder and in a search folder, both watched. The
-- mirror's key becomes (mailbox, folder, item); every write and read of the mirror names the folder.
-- The old index by (mailbox, folder) is the new key's prefix and goes.
--
-- On a large table build the index beforehand, while the old version runs, with the statement in
-- README "Upgrading"; this migration then finds it valid and only swaps the key, a brief lock.
DO $$
BEGIN
    -- A CREATE INDEX CONCURRENTLY that failed leaves an invalid index behind: build it again.
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('items_folder_key') AND NOT indisvalid) THEN
        DROP INDEX items_folder_key;
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS items_folder_key ON items (mailbox_id, folder_id, item_id);
ALTER TABLE items DROP CONSTRAINT items_pkey;
ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_folder_key;
DROP INDEX IF EXISTS items_by_folder;

-- migration: 14 calendar_window
-- How far a watched calendar folder reaches (`tenant add|update --calendar-window BACK,AHEAD`): its
-- CalendarView runs from BACK days before today to AHEAD days after (UTC days), so the window
-- moves once a day; occurrences that enter it are `created`, those that leave it `deleted`.
ALTER TABLE tenants ADD COLUMN calendar_window text NOT NULL DEFAULT '30d,365d'
    CHECK (calendar_window ~ '^[0-9]{1,4}d,[0-9]{1,4}d$');
