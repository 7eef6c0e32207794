-- Initial schema of jules-orchestrator.
--
-- Temporal history is the event log; these tables hold configuration, the encrypted Jules keys and a
-- projection of each task for `/jules-status` and the dashboard. Only the service writes them, with the
-- service role (Supabase) or the table owner (plain Postgres, PGlite).
--
-- Columns holding CIPHERTEXT: guilds.default_jules_key and users.jules_key. They contain the output of
-- src/crypto/secret-box.ts (`v1:<keyId>:<iv>:<ciphertext>:<tag>`), never a plaintext Jules API key.

create table guilds (
  guild_id          text primary key,
  -- Discord role ids allowed to run `/jules`, and to confirm a request.
  create_roles      text[] not null default '{}',
  confirm_roles     text[] not null default '{}',
  default_repo      text null
    constraint guilds_default_repo_shape check (default_repo ~ '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'),
  default_branch    text null,
  -- CIPHERTEXT: the guild's default Jules API key, encrypted by src/crypto/secret-box.ts.
  default_jules_key text null,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);

comment on column guilds.default_jules_key is
  'Ciphertext (secret-box v1 envelope) of the guild default Jules API key; never plaintext.';

create table users (
  discord_id  text primary key,
  -- CIPHERTEXT: the member's personal Jules API key, encrypted by src/crypto/secret-box.ts.
  jules_key   text null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

comment on column users.jules_key is
  'Ciphertext (secret-box v1 envelope) of the member personal Jules API key; never plaintext.';

-- The task projection, written only by activities. No foreign key to guilds: the projection must
-- accept what the workflow recorded even if a guild's configuration is later removed.
create table tasks (
  id                 text primary key, -- the Temporal workflow id
  guild_id           text not null,
  channel_id         text not null,
  requester_id       text not null,
  prompt             text not null,
  repo               text not null,
  branch             text null,
  -- Exactly the statuses of src/shared/task-status.ts; add values with a new migration, never rename.
  status             text not null
    constraint tasks_status_known check (status in (
      'pending_confirmation',
      'in_progress',
      'completed',
      'rejected',
      'failed',
      'cancelled',
      'expired',
      'stalled',
      'needs_attention'
    )),
  -- Which stored key pays; the key itself never appears here.
  key_source         text not null
    constraint tasks_key_source_known check (key_source in ('personal', 'guild')),
  card_message_id    text null,
  decided_by         text null,
  jules_session_id   text null,
  jules_session_url  text null,
  jules_state        text null,
  pr_url             text null,
  last_error         text null,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);

create index tasks_guild_id_status_idx on tasks (guild_id, status);
create index tasks_requester_id_status_idx on tasks (requester_id, status);

-- Row Level Security on every table, with no policies yet: Supabase's service role (and a plain
-- Postgres table owner) bypasses RLS, while the anon and authenticated roles see nothing. This is plain
-- SQL, so it works on Supabase, on any Postgres and on PGlite alike.
alter table guilds enable row level security;
alter table users enable row level security;
alter table tasks enable row level security;
