-- 0005_operations: what lets a chain get unstuck without hand-written SQL.

-- ---------------------------------------------------------------------------------------------
-- sync_runs: how many poll deadlines a window's export task has outlived. After
-- extract.abandonAfterDeadlines of them (over as many runs) the task is taken for stuck at
-- Spaaza: the row is abandoned with error_code 'task_stuck' and its window planned afresh.
-- ---------------------------------------------------------------------------------------------

ALTER TABLE sync_runs ADD COLUMN poll_deadlines integer NOT NULL DEFAULT 0 CHECK (poll_deadlines >= 0);

COMMENT ON COLUMN sync_runs.poll_deadlines IS
    'How many runs waited extract.pollDeadline for this window''s export task and gave up with the task unfinished. At extract.abandonAfterDeadlines the row is abandoned (error_code task_stuck) and the window planned again with a new task.';

COMMENT ON COLUMN sync_runs.error_code IS
    'Machine-readable error code of a failed window (for example sqlstate_22007, poll_deadline, process_died), or why a window was abandoned: task_stuck (extract.abandonAfterDeadlines), abandoned_by_operator (spaaza-sync abandon). NULL for committed rows and for windows abandoned by an ordinary rule (too old to resume, a task gone), whose error_message says why.';
