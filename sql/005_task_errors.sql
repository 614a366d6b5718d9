-- 005_task_errors.sql - why a video task ended failed.  Owned by
-- core/pipeline/pipeline_db.c (docs/pipeline.md, "Failures"): the task that
-- failed the video has its own message; the video's other tasks that had
-- not finished end failed too, naming the task that failed the video.
ALTER TABLE video_tasks ADD COLUMN error text NOT NULL DEFAULT '';
