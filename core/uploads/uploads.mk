# core/uploads.mk - resumable uploads (tus), the video lifecycle and its
# admin API, the transcode pipeline's job handlers, `videoflix video`, their
# migration and tests.  See docs/uploads.md and docs/pipeline.md.

core_libvfcore_la_SOURCES += \
	core/uploads/upload.c core/uploads/upload.h \
	core/uploads/upload_store.c core/uploads/upload_store.h \
	core/catalog/videos.c core/catalog/videos.h \
	core/catalog/video_list.c core/catalog/video_list.h \
	core/catalog/video_lifecycle.c core/catalog/video_lifecycle.h \
	core/pipeline/pipeline.c core/pipeline/pipeline.h \
	core/pipeline/pipeline_db.c core/pipeline/pipeline_db.h \
	core/pipeline/task_dir.c core/pipeline/task_dir.h \
	core/cli/video_cli.c

dist_sql_DATA += sql/004_uploads.sql sql/005_task_errors.sql

UPLOADS_TEST_SOURCES = tests/e2e/uploads_fixture.c tests/e2e/uploads_fixture.h tests/media.c tests/media.h

# tus, tus-js-client, the lifecycle and S3 through the real server.
check_PROGRAMS += tests/e2e/check_uploads
TESTS += tests/e2e/check_uploads
tests_e2e_check_uploads_SOURCES = tests/e2e/check_uploads.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_uploads_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_uploads_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_uploads_LDADD = $(TEST_LIBS) -lm

EXTRA_DIST += tests/services/tus/package.json tests/services/tus/package-lock.json \
	tests/services/tus/install.sh tests/services/tus/tus-upload.js

# Storage work off the event loops: a slow S3, a full storage queue, shutdown.
check_PROGRAMS += tests/e2e/check_offload
TESTS += tests/e2e/check_offload
tests_e2e_check_offload_SOURCES = tests/e2e/check_offload.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_offload_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_offload_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_offload_LDADD = $(TEST_LIBS) -lm

# Faults: bad inputs, a killed worker, Redis stopped, duplicated jobs.
check_PROGRAMS += tests/e2e/check_pipeline
TESTS += tests/e2e/check_pipeline
tests_e2e_check_pipeline_SOURCES = tests/e2e/check_pipeline.c $(UPLOADS_TEST_SOURCES)
tests_e2e_check_pipeline_CPPFLAGS = $(TEST_CPPFLAGS)
tests_e2e_check_pipeline_CFLAGS = $(TEST_CFLAGS)
tests_e2e_check_pipeline_LDADD = $(TEST_LIBS) -lm

# The upload benchmark (bench/upload, run by hand): not in `make check`.
EXTRA_PROGRAMS += bench/upload/bench_upload
bench_upload_bench_upload_SOURCES = bench/upload/bench_upload.c $(UPLOADS_TEST_SOURCES)
bench_upload_bench_upload_CPPFLAGS = $(TEST_CPPFLAGS)
bench_upload_bench_upload_CFLAGS = $(TEST_CFLAGS)
bench_upload_bench_upload_LDADD = $(TEST_LIBS) -lm
CLEANFILES += bench/upload/bench_upload

# The upload load of bench/offload (run by hand): not in `make check`.
EXTRA_PROGRAMS += bench/offload/tus_load
bench_offload_tus_load_SOURCES = bench/offload/tus_load.c $(UPLOADS_TEST_SOURCES)
bench_offload_tus_load_CPPFLAGS = $(TEST_CPPFLAGS)
bench_offload_tus_load_CFLAGS = $(TEST_CFLAGS)
bench_offload_tus_load_LDADD = $(TEST_LIBS) -lm
CLEANFILES += bench/offload/tus_load

# The transcode benchmark (bench/transcode, run by hand): not in `make check`.
EXTRA_PROGRAMS += bench/transcode/bench_transcode
bench_transcode_bench_transcode_SOURCES = bench/transcode/bench_transcode.c $(UPLOADS_TEST_SOURCES)
bench_transcode_bench_transcode_CPPFLAGS = $(TEST_CPPFLAGS)
bench_transcode_bench_transcode_CFLAGS = $(TEST_CFLAGS)
bench_transcode_bench_transcode_LDADD = $(TEST_LIBS) -lm
CLEANFILES += bench/transcode/bench_transcode
