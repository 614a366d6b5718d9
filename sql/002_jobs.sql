-- 002_jobs.sql - the job outbox (docs/queue.md).  A job is inserted here in
-- the same transaction as the change that caused it, and deleted once it is
-- in Redis; rows stay while Redis is unreachable and are pushed when it is
-- back, by vf_queue_flush() or the outbox relay of any worker or server.
CREATE TABLE job_outbox (
    seq bigserial PRIMARY KEY,          -- push order
    job_id text NOT NULL UNIQUE,
    type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
