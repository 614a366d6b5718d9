/*
 * password.h - password hashes and rules.
 * Owns: Argon2id hashing and verification (libsodium), verification of
 * Django's hashes imported from the old service (pbkdf2_sha256, argon2,
 * bcrypt_sha256, bcrypt, md5), deciding when
 * a stored hash must be upgraded, the password rules and their messages, and
 * the hashing jobs of its offload pool (offload.h), which runs all of this
 * off the event-loop threads.
 * Must not: touch the database or reply to requests (callers do).
 */
#ifndef VF_PASSWORD_H
#define VF_PASSWORD_H

#include <jansson.h>
#include <stddef.h>

#include "http/offload.h"

/* Room for any stored hash we write or accept (Argon2id strings are < 128). */
#define VF_PASSWORD_HASH_SIZE 256
/* Longest password accepted, in characters (bounds the hashing cost). */
#define VF_PASSWORD_MAX_CHARS 1024

/* sodium_init() once per process; 0 or -1. */
int vf_sodium_init(void);

/* Argon2id with the parameters in force.  0, or -ENOMEM (libsodium could
 * not get its memory). */
int vf_password_hash(const char *password, char out[VF_PASSWORD_HASH_SIZE]);

/* 1 when password matches stored, 0 when not (also for a hash we cannot
 * read, such as the unusable "!").  *needs_upgrade is set to 1 when it
 * matched but the hash is a Django one or Argon2id with weaker parameters
 * than those in force. */
int vf_password_verify(const char *password, const char *stored, int *needs_upgrade);

/* Django's "pbkdf2_sha256$<iterations>$<salt>$<base64 hash>": 1 match,
 * 0 mismatch or malformed. */
int vf_password_verify_django(const char *password, const char *stored);

/* 1 when stored is in one of the Django formats vf_password_verify reads
 * (and upgrades to Argon2id at the next login). */
int vf_password_is_django(const char *stored);

/* The rules of registration and reset.  NULL when the password is fine,
 * else a new JSON array of every message that applies (DRF/Django wording). */
json_t *vf_password_rule_errors(const char *password, const char *email, int min_length);

/* Number of characters (UTF-8 code points) in s. */
size_t vf_utf8_length(const char *s);

/* ------------------------------------------------------------ the pool */

typedef enum {
    VF_PW_HASH,     /* password -> new_hash */
    VF_PW_VERIFY,   /* password, stored -> matched (and new_hash when upgraded) */
} vf_pw_op_t;

typedef struct vf_pw_job vf_pw_job_t;
struct vf_pw_job {
    vf_pw_op_t op;
    char *password;     /* malloc()ed; wiped and freed by the pool */
    char *stored;       /* malloc()ed or NULL (VERIFY: NULL = no such user;
                           that and unusable hashes are checked against a
                           dummy hash for equal timing) */
    /* results */
    int status;         /* 0, or a negative errno */
    int matched;
    int upgraded;       /* new_hash holds the upgraded hash */
    char new_hash[VF_PASSWORD_HASH_SIZE];
    /* vf_password_pool_submit: called on a pool thread when the work is
     * done; it must hand the job back to its owner's thread and not block. */
    void (*done)(vf_pw_job_t *job);
    void *arg;
    vf_offload_job_t job;   /* the pool's */
};

/* Start the pool once with `threads` threads (later calls do nothing). */
int vf_password_pool_start(int threads);
/* Queue a job.  0, -EAGAIN when the queue is full (answer 503), or
 * -ESHUTDOWN.  On failure the job is still the caller's. */
int vf_password_pool_submit(vf_pw_job_t *job);
/* For requests: the started pool and the job made ready for it, to be
 * queued with vf_offload_request (whose resume gets &job->job back;
 * vf_pw_job_of turns it into the password job). */
vf_offload_pool_t *vf_password_pool(void);
vf_offload_job_t *vf_pw_job_prepare(vf_pw_job_t *job);
vf_pw_job_t *vf_pw_job_of(vf_offload_job_t *job);
/* Free a job's memory (password wiped). */
void vf_pw_job_free(vf_pw_job_t *job);
/* Wait for queued jobs to finish and stop the threads (tests; `serve`
 * stops every pool at once with vf_offload_stop_all). */
void vf_password_pool_stop(void);

#endif
