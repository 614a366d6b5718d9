# tests/plugins/contract.mk - the plugin contract suites, the
# videoflix-plugin-check program that runs them against any .so, and the
# test that builds the out-of-tree example plugin from an installed tree.
# Included after the plugins' fragments: it adds the suites to the plugins'
# own test programs (each one's main() is VFC_MAIN).

CONTRACT_SOURCES = tests/plugins/contract.c tests/plugins/contract.h
STORAGE_CONTRACT_SOURCES = tests/plugins/storage_contract.c tests/plugins/storage_contract.h \
	tests/plugins/storage_contract_fixture.h tests/plugins/storage_contract_multipart.c \
	tests/plugins/storage_contract_caps.c tests/plugins/storage_contract_prefix.c
ENCODER_CONTRACT_SOURCES = tests/plugins/encoder_contract.c tests/plugins/encoder_contract.h \
	tests/plugins/encoder_contract_fixture.h tests/plugins/encoder_contract_hls.c \
	tests/plugins/encoder_contract_hls.h tests/plugins/encoder_contract_resume.c

tests_plugins_check_storage_local_SOURCES += $(CONTRACT_SOURCES) $(STORAGE_CONTRACT_SOURCES)
tests_plugins_check_storage_s3_SOURCES += $(CONTRACT_SOURCES) $(STORAGE_CONTRACT_SOURCES)
tests_plugins_check_encoder_ffmpeg_SOURCES += $(CONTRACT_SOURCES) $(ENCODER_CONTRACT_SOURCES)
tests_plugins_check_encoder_libav_SOURCES += $(CONTRACT_SOURCES) $(ENCODER_CONTRACT_SOURCES)

# Installed, so that authors of plugins outside this tree can run the
# contract against their .so (include/videoflix/README.md).
bin_PROGRAMS += videoflix-plugin-check
videoflix_plugin_check_SOURCES = tests/plugins/videoflix_plugin_check.c $(CONTRACT_SOURCES) \
	$(STORAGE_CONTRACT_SOURCES) $(ENCODER_CONTRACT_SOURCES) tests/media.c tests/media.h
videoflix_plugin_check_CPPFLAGS = $(TEST_CPPFLAGS)
videoflix_plugin_check_CFLAGS = $(TEST_CFLAGS)
videoflix_plugin_check_LDADD = $(TEST_LIBS) -lm

# The example plugin, built only from what `make install` puts in place.
TESTS += tests/plugins/example_plugin.sh
EXTRA_DIST += tests/plugins/example_plugin.sh \
	examples/storage_memory/README.md examples/storage_memory/Makefile \
	examples/storage_memory/storage_memory.c examples/storage_memory/contract.conf
