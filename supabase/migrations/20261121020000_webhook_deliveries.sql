-- Deliveries of signed webhooks already acted on, so a redelivered event (a relay's retry, a replay inside
-- the signature's five-minute window) has no second effect. `source` names the sender (`jules`, later
-- `github`); `delivery_id` is the sender's id of the delivery (`X-Jules-Delivery`, or the body's `id`).
-- A row is written only after the signature and the body were checked, and deleted again when acting on
-- the delivery failed, so the sender's retry is not taken for a duplicate.
create table if not exists public.webhook_deliveries (
  source       text not null,
  delivery_id  text not null,
  received_at  timestamptz not null default now(),
  primary key (source, delivery_id)
);

-- Row Level Security like every other table: the service role and the table owner bypass it, the anon and
-- authenticated roles see nothing.
alter table public.webhook_deliveries enable row level security;
