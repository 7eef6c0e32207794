-- When a member's personal Jules key was set, for `/jules-key status` ("set since …"). Kept apart from
-- updated_at, which a key rotation (`keys rotate`) also moves. Null for keys set before this column existed:
-- the adapters then fall back to updated_at.
alter table public.users add column if not exists jules_key_set_at timestamptz null;

comment on column public.users.jules_key_set_at is
  'When the member set their personal Jules key (not when it was re-encrypted); null with no key.';
