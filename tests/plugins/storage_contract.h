/*
 * storage_contract.h - the Check suite every storage plugin must pass,
 * whoever wrote it: whole-object round trips, missing objects, refused
 * keys, URLs, local paths, multipart uploads and their size rules,
 * remove_prefix (when offered), several threads on one state, and that
 * every failure explains itself in its vf_error_t.  It uses only the
 * operations of <videoflix/storage.h>, never the plugin's files or
 * service directly.
 *
 * Run from each storage plugin's own test program (VFC_MAIN) and by
 * videoflix-plugin-check for a .so built anywhere.
 */
#ifndef VF_TEST_STORAGE_CONTRACT_H
#define VF_TEST_STORAGE_CONTRACT_H

#include "tests/plugins/contract.h"

/* The suite for one subject (which must outlive the suite; one subject per
 * process). */
Suite *vfc_storage_suite(const vfc_subject_t *subject);

#endif
