# core/queue.mk - the job queue (Redis Streams + PostgreSQL outbox), the
# worker, their CLI commands, tests and migration.  See docs/queue.md.

core_libvfcore_la_SOURCES += \
	core/jobs/queue.c core/jobs/queue.h core/jobs/queue_internal.h \
	core/jobs/queue_scripts.c core/jobs/queue_admin.c \
	core/jobs/worker.c core/jobs/worker.h core/jobs/worker_internal.h \
	core/jobs/worker_job.c core/jobs/worker_supervisor.c \
	core/jobs/queue_metrics.c core/jobs/queue_metrics.h \
	core/cli/jobs_cli.c

dist_sql_DATA += sql/002_jobs.sql

# The worker binary of the tests: `videoflix worker` plus test-only job
# types (sleep, fail, noop, record).
check_PROGRAMS += tests/test_worker
tests_test_worker_SOURCES = tests/test_worker.c
tests_test_worker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_test_worker_CFLAGS = $(TEST_CFLAGS)
tests_test_worker_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/core/check_queue
TESTS += tests/core/check_queue
tests_core_check_queue_SOURCES = tests/core/check_queue.c tests/e2e/worker_fixture.c tests/e2e/worker_fixture.h
tests_core_check_queue_CPPFLAGS = $(TEST_CPPFLAGS)
tests_core_check_queue_CFLAGS = $(TEST_CFLAGS)
tests_core_check_queue_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/e2e/check_worker
TESTS += tests/e2e/check_worker
tests_e2e_check_worker_SOURCES = tests/e2e/check_worker.c tests/e2e/worker_fixture.c tests/e2e/worker_fixture.h
tests_e2e_check_worker_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_worker_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_worker_LDADD = $(TEST_LIBS)

# The benchmark (bench/queue, run by hand): not installed, not in `make check`.
EXTRA_PROGRAMS = bench/queue/bench_queue
bench_queue_bench_queue_SOURCES = bench/queue/bench_queue.c tests/e2e/worker_fixture.c tests/e2e/worker_fixture.h
bench_queue_bench_queue_CPPFLAGS = $(TEST_CPPFLAGS)
bench_queue_bench_queue_CFLAGS = $(TEST_CFLAGS)
bench_queue_bench_queue_LDADD = $(TEST_LIBS)
CLEANFILES += bench/queue/bench_queue
