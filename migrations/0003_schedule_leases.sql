-- 0003_schedule_leases: election of scheduled runs across replicas. Each replica of
-- `spaaza-sync schedule` tries to insert the key of a tick (schedule name + fire time); the one
-- whose insert succeeds runs it, so every tick runs once in total.

CREATE TABLE schedule_leases (
    key          text PRIMARY KEY,
    holder       text NOT NULL,
    elected_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    completed_at timestamptz
);

CREATE INDEX schedule_leases_expires_at_idx ON schedule_leases (expires_at);

COMMENT ON TABLE schedule_leases IS
    'Bookkeeping of the schedule daemon: one row per scheduled tick that a replica was elected to run. Not for analysis; old rows are purged automatically.';
COMMENT ON COLUMN schedule_leases.key IS 'The tick: "spaaza-sync:<schema>:<schedule>:<fire time in ISO 8601>".';
COMMENT ON COLUMN schedule_leases.holder IS 'The replica that won the election: host name, process id and a random suffix.';
COMMENT ON COLUMN schedule_leases.elected_at IS 'When the replica was elected to run the tick.';
COMMENT ON COLUMN schedule_leases.expires_at IS 'When the lease lapses; rows long past it are deleted.';
COMMENT ON COLUMN schedule_leases.completed_at IS 'When the elected replica finished the tick; NULL while it runs, or if it died (its work is resumed by the next tick).';
