-- Each task's Discord thread (created under its card), and the lookups the ingress makes:
-- a thread message → its task (forwarded replies), a Jules session → its task (webhook pushes).
alter table public.tasks add column if not exists thread_id text null;

create index if not exists tasks_thread_id_idx on public.tasks (thread_id) where thread_id is not null;
create index if not exists tasks_jules_session_id_idx on public.tasks (jules_session_id) where jules_session_id is not null;
