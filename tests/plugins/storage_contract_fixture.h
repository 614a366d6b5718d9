/*
 * storage_contract_fixture.h - what the files of the storage contract
 * share (not for plugin tests: they use storage_contract.h): the loaded
 * instance of the test, its capabilities as the core read them, the key
 * prefix and scratch directory, and the assertions on objects.  Each file
 * adds its tests to the suite through one vfc_storage_add_* function.
 */
#ifndef VF_TEST_STORAGE_CONTRACT_FIXTURE_H
#define VF_TEST_STORAGE_CONTRACT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include <videoflix/storage.h>

#include "tests/plugins/contract.h"

#define KiB 1024
#define MiB (1024 * 1024)

typedef struct storage_fixture {
    vfc_instance_t inst;
    const vf_storage_ops_t *ops;
    void *state;
    vf_storage_caps_t caps;  /* what the loader read: declared, or implied by 1.0 */
    bool declared_caps;      /* the plugin has a capabilities operation */
    char *files;             /* local files of the test, not the plugin's */
    char prefix[96];         /* every key of the test starts with it */
} storage_fixture_t;

extern storage_fixture_t vfc_sfx;

/* "<prefix>/<name>" into buf. */
const char *vfc_key(char *buf, size_t len, const char *name);
/* A scratch file of `size` pattern bytes; the path is the caller's. */
char *vfc_pattern_file(const char *name, size_t size, unsigned seed);
/* The file's bytes (malloc()ed) and length. */
char *vfc_read_all(const char *path, size_t *len);
bool vfc_exists(const char *path);

void vfc_put_ok(const char *key, const char *path);
void vfc_remove_ok(const char *key);
/* The object's bytes equal the file's. */
void vfc_assert_object(const char *key, const char *expected_file);
/* stat says -ENOENT, with a message. */
void vfc_assert_missing(const char *key);

void vfc_storage_add_multipart(TCase *tc);
void vfc_storage_add_capabilities(TCase *tc);
void vfc_storage_add_prefix(TCase *tc);

#endif
