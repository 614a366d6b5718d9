# tests/fuzz/fuzz.mk - the fuzz harnesses of tests/fuzz (docs/fuzzing.md).
# In every build each harness is a test program that runs the inputs kept in
# its corpus, tests/fuzz/<name>/, once (replay.c is its main), so the seeds
# and every input that once crashed are regression tests of `make check`.
# In a build configured with CC=clang --enable-fuzzing they are libFuzzer
# binaries instead, and `make fuzz` runs each for FUZZ_SECONDS seconds.

FUZZ_NAMES = router range cookie jwt json_body tus config s3_xml keypath
FUZZ_BINARIES = tests/fuzz/fuzz_router tests/fuzz/fuzz_range tests/fuzz/fuzz_cookie \
	tests/fuzz/fuzz_jwt tests/fuzz/fuzz_json_body tests/fuzz/fuzz_tus \
	tests/fuzz/fuzz_config tests/fuzz/fuzz_s3_xml tests/fuzz/fuzz_keypath
check_PROGRAMS += $(FUZZ_BINARIES)

if FUZZING
FUZZ_LINK = -fsanitize=fuzzer
FUZZ_BUILT = $(FUZZ_BINARIES)
else
FUZZ_MAIN = tests/fuzz/replay.c
TESTS += $(FUZZ_BINARIES)
endif

FUZZ_CPPFLAGS = $(CORE_CPPFLAGS) -I$(top_srcdir)/tests/fuzz
FUZZ_CFLAGS = $(AM_CFLAGS) $(CORE_DEP_CFLAGS)
FUZZ_COMMON = tests/fuzz/fuzz.h $(FUZZ_MAIN)

tests_fuzz_fuzz_router_SOURCES = tests/fuzz/fuzz_router.c $(FUZZ_COMMON)
tests_fuzz_fuzz_router_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_router_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_router_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_router_LDADD = core/libvfcore.la

tests_fuzz_fuzz_range_SOURCES = tests/fuzz/fuzz_range.c $(FUZZ_COMMON)
tests_fuzz_fuzz_range_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_range_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_range_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_range_LDADD = core/libvfcore.la

tests_fuzz_fuzz_cookie_SOURCES = tests/fuzz/fuzz_cookie.c $(FUZZ_COMMON)
tests_fuzz_fuzz_cookie_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_cookie_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_cookie_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_cookie_LDADD = core/libvfcore.la

tests_fuzz_fuzz_jwt_SOURCES = tests/fuzz/fuzz_jwt.c $(FUZZ_COMMON)
tests_fuzz_fuzz_jwt_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_jwt_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_jwt_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_jwt_LDADD = core/libvfcore.la

tests_fuzz_fuzz_json_body_SOURCES = tests/fuzz/fuzz_json_body.c $(FUZZ_COMMON)
tests_fuzz_fuzz_json_body_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_json_body_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_json_body_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_json_body_LDADD = core/libvfcore.la

tests_fuzz_fuzz_tus_SOURCES = tests/fuzz/fuzz_tus.c $(FUZZ_COMMON)
tests_fuzz_fuzz_tus_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_tus_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_tus_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_tus_LDADD = core/libvfcore.la

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c $(FUZZ_COMMON)
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_config_LDADD = core/libvfcore.la

# The plugins' parsers, compiled into the harness from their sources.
tests_fuzz_fuzz_s3_xml_SOURCES = tests/fuzz/fuzz_s3_xml.c $(FUZZ_COMMON) \
	plugins/storage_s3/s3_xml.c plugins/storage_s3/s3_xml.h
tests_fuzz_fuzz_s3_xml_CPPFLAGS = $(FUZZ_CPPFLAGS) -I$(top_srcdir)/plugins/storage_s3
tests_fuzz_fuzz_s3_xml_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_s3_xml_LDFLAGS = $(FUZZ_LINK)

tests_fuzz_fuzz_keypath_SOURCES = tests/fuzz/fuzz_keypath.c $(FUZZ_COMMON) \
	plugins/storage_local/keypath.c plugins/storage_local/fileio.c plugins/storage_local/storage_local.h
tests_fuzz_fuzz_keypath_CPPFLAGS = $(FUZZ_CPPFLAGS) -I$(top_srcdir)/plugins/storage_local
tests_fuzz_fuzz_keypath_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_keypath_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_keypath_LDADD = core/libvfcore.la

# make fuzz [FUZZ_SECONDS=N] [FUZZ_NAMES="router jwt"]: fuzz each harness for
# N seconds under ASan and UBSan, starting from its corpus; new inputs are
# kept in tests/fuzz/found/<name>/, crashes in tests/fuzz/crashes/ and the
# output in tests/fuzz/fuzz_<name>.out of the build folder.  Fails when any
# harness finds something.
FUZZ_SECONDS = 60
fuzz: fuzz-build
	@FUZZ_SRCDIR='$(abs_top_srcdir)/tests/fuzz' FUZZ_BUILDDIR='$(abs_top_builddir)/tests/fuzz' \
		$(SHELL) '$(top_srcdir)/tests/fuzz/run.sh' '$(FUZZ_SECONDS)' $(FUZZ_NAMES)
# The harnesses alone (scripts/test.sh builds them first, quietly).
fuzz-build: $(FUZZ_BUILT)
	@test -n '$(FUZZ_BUILT)' || { echo "make fuzz: this build has no libFuzzer; configure a build folder of its own with CC=clang --enable-fuzzing (docs/fuzzing.md)" >&2; exit 1; }
.PHONY: fuzz fuzz-build

# The corpora (one folder per harness) and the dictionaries of the fuzzer.
EXTRA_DIST += tests/fuzz/run.sh \
	tests/fuzz/router tests/fuzz/range tests/fuzz/cookie tests/fuzz/jwt tests/fuzz/json_body \
	tests/fuzz/tus tests/fuzz/config tests/fuzz/s3_xml tests/fuzz/keypath \
	tests/fuzz/router.dict tests/fuzz/json_body.dict tests/fuzz/config.dict tests/fuzz/s3_xml.dict \
	tests/fuzz/config.options

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/found tests/fuzz/crashes tests/fuzz/fuzz_*.out
.PHONY: clean-fuzz
