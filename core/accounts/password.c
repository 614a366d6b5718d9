/*
 * password.c - see password.h.
 *
 * Argon2id costs ~90 ms and 64 MiB per call with libsodium's interactive
 * limits; run on an event-loop thread it would stall every connection of
 * that thread, so requests hand it to a few pool threads and get the result
 * back on their own loop.  The pool is bounded: a flood of logins queues up
 * to POOL_MAX_PENDING jobs, then gets 503, and never grows memory without end.
 */
#include "config.h"
#include "accounts/password.h"
#include "util/log.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The parameters in force; raising them makes every older hash be upgraded
 * at its owner's next login. */
#define ARGON_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define ARGON_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

#define DJANGO_PREFIX "pbkdf2_sha256$"
/* An imported hash asking for more would let a row in the database cost
 * minutes of CPU per login attempt. */
#define DJANGO_MAX_ITERATIONS 10000000L

/* The other Django hashers the old service may have used (docs/accounts.md). */
#define DJANGO_ARGON2_PREFIX "argon2$"
#define DJANGO_BCRYPT_SHA256_PREFIX "bcrypt_sha256$"
#define DJANGO_BCRYPT_PREFIX "bcrypt$"
#define DJANGO_MD5_PREFIX "md5$"
/* Bounds on imported parameters, for the same reason as the iterations:
 * argon2 memory in KiB (1 GiB) and bcrypt's log2 cost. */
#define DJANGO_ARGON2_MAX_KIB 1048576L
#define DJANGO_BCRYPT_MAX_COST 16

#define POOL_MAX_PENDING 1024

int vf_sodium_init(void)
{
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        if (sodium_init() < 0)
            return -1;
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    return 0;
}

int vf_password_hash(const char *password, char out[VF_PASSWORD_HASH_SIZE])
{
    if (vf_sodium_init() < 0)
        return -ENOMEM;
    char buf[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(buf, password, strlen(password), ARGON_OPSLIMIT, ARGON_MEMLIMIT) != 0)
        return -ENOMEM;
    memcpy(out, buf, sizeof buf);
    out[sizeof buf - 1] = '\0';
    return 0;
}

int vf_password_verify_django(const char *password, const char *stored)
{
    if (strncmp(stored, DJANGO_PREFIX, strlen(DJANGO_PREFIX)) != 0)
        return 0;
    const char *p = stored + strlen(DJANGO_PREFIX);
    char *end = NULL;
    errno = 0;
    long iterations = strtol(p, &end, 10);
    if (errno || end == p || *end != '$' || iterations < 1 || iterations > DJANGO_MAX_ITERATIONS)
        return 0;
    const char *salt = end + 1;
    const char *dollar = strchr(salt, '$');
    if (!dollar || dollar == salt)
        return 0;
    const char *expected = dollar + 1;
    size_t expected_len = strlen(expected);

    unsigned char derived[32];
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), (const unsigned char *)salt, (int)(dollar - salt),
                          (int)iterations, EVP_sha256(), sizeof derived, derived) != 1)
        return 0;
    /* Django stores base64 with padding: 44 characters for 32 bytes. */
    unsigned char encoded[64];
    int n = EVP_EncodeBlock(encoded, derived, sizeof derived);
    OPENSSL_cleanse(derived, sizeof derived);
    if (n <= 0 || (size_t)n != expected_len)
        return 0;
    return CRYPTO_memcmp(encoded, expected, expected_len) == 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "argon2$argon2id$v=19$m=...,t=...,p=...$salt$hash" (or argon2i): the part
 * after "argon2" is the PHC string libsodium reads; p > 1 is verified too. */
static int verify_django_argon2(const char *password, const char *stored)
{
    const char *phc = stored + strlen(DJANGO_ARGON2_PREFIX) - 1;
    const char *m = strstr(phc, "$m=");
    if (!m || vf_sodium_init() < 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long kib = strtol(m + 3, &end, 10);
    if (errno || end == m + 3 || kib < 1 || kib > DJANGO_ARGON2_MAX_KIB)
        return 0;
    if (has_prefix(phc, "$argon2id$"))
        return crypto_pwhash_argon2id_str_verify(phc, password, strlen(password)) == 0;
    if (has_prefix(phc, "$argon2i$"))
        return crypto_pwhash_argon2i_str_verify(phc, password, strlen(password)) == 0;
    return 0;
}

/* bcrypt through libxcrypt's crypt_rn; bcrypt_sha256 first turns the
 * password into the hex SHA-256 digest (so that bcrypt's 72-byte limit does
 * not cut long passwords). */
static int verify_django_bcrypt(const char *password, const char *stored, int sha256)
{
    const char *setting = stored + strlen(sha256 ? DJANGO_BCRYPT_SHA256_PREFIX : DJANGO_BCRYPT_PREFIX);
    /* setting: "$2b$12$<salt and hash>" */
    if (!has_prefix(setting, "$2") || strlen(setting) < 7)
        return 0;
    int cost = atoi(setting + 4);
    if (cost < 4 || cost > DJANGO_BCRYPT_MAX_COST)
        return 0;
    char hex[2 * 32 + 1];
    if (sha256) {
        unsigned char digest[32];
        unsigned int n = 0;
        if (EVP_Digest(password, strlen(password), digest, &n, EVP_sha256(), NULL) != 1 || n != sizeof digest)
            return 0;
        for (size_t i = 0; i < sizeof digest; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        OPENSSL_cleanse(digest, sizeof digest);
        password = hex;
    }
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data)
        return 0;
    const char *out = crypt_rn(password, setting, data, (int)sizeof *data);
    int ok = out && out[0] != '*' && strlen(out) == strlen(setting) &&
             CRYPTO_memcmp(out, setting, strlen(setting)) == 0;
    OPENSSL_cleanse(data, sizeof *data);
    free(data);
    if (sha256)
        OPENSSL_cleanse(hex, sizeof hex);
    return ok;
}

/* "md5$<salt>$<hex md5(salt + password)>". */
static int verify_django_md5(const char *password, const char *stored)
{
    const char *salt = stored + strlen(DJANGO_MD5_PREFIX);
    const char *dollar = strchr(salt, '$');
    if (!dollar || strlen(dollar + 1) != 32)
        return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[16];
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(md, salt, (size_t)(dollar - salt)) == 1 &&
             EVP_DigestUpdate(md, password, strlen(password)) == 1 && EVP_DigestFinal_ex(md, digest, &n) == 1 &&
             n == sizeof digest;
    EVP_MD_CTX_free(md);
    if (!ok)
        return 0;
    char hex[2 * sizeof digest + 1];
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return CRYPTO_memcmp(hex, dollar + 1, 32) == 0;
}

int vf_password_is_django(const char *stored)
{
    return stored && (has_prefix(stored, DJANGO_PREFIX) || has_prefix(stored, DJANGO_ARGON2_PREFIX) ||
                      has_prefix(stored, DJANGO_BCRYPT_SHA256_PREFIX) || has_prefix(stored, DJANGO_BCRYPT_PREFIX) ||
                      has_prefix(stored, DJANGO_MD5_PREFIX));
}

int vf_password_verify(const char *password, const char *stored, int *needs_upgrade)
{
    *needs_upgrade = 0;
    if (!stored || !password)
        return 0;
    if (vf_password_is_django(stored)) {
        int ok = has_prefix(stored, DJANGO_PREFIX)                ? vf_password_verify_django(password, stored)
                 : has_prefix(stored, DJANGO_ARGON2_PREFIX)        ? verify_django_argon2(password, stored)
                 : has_prefix(stored, DJANGO_BCRYPT_SHA256_PREFIX) ? verify_django_bcrypt(password, stored, 1)
                 : has_prefix(stored, DJANGO_BCRYPT_PREFIX)        ? verify_django_bcrypt(password, stored, 0)
                                                                   : verify_django_md5(password, stored);
        *needs_upgrade = ok;
        return ok;
    }
    if (strncmp(stored, "$argon2id$", 10) != 0 || vf_sodium_init() < 0)
        return 0;
    if (crypto_pwhash_str_verify(stored, password, strlen(password)) != 0)
        return 0;
    /* 1: weaker (or different) parameters; -1: not a hash libsodium reads. */
    *needs_upgrade = crypto_pwhash_str_needs_rehash(stored, ARGON_OPSLIMIT, ARGON_MEMLIMIT) != 0;
    return 1;
}

size_t vf_utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

json_t *vf_password_rule_errors(const char *password, const char *email, int min_length)
{
    json_t *errors = json_array();
    if (!errors)
        return NULL;
    size_t chars = vf_utf8_length(password);
    char msg[160];
    if (chars < (size_t)min_length) {
        snprintf(msg, sizeof msg, "This password is too short. It must contain at least %d character%s.",
                 min_length, min_length == 1 ? "" : "s");
        json_array_append_new(errors, json_string(msg));
    }
    if (chars > VF_PASSWORD_MAX_CHARS) {
        snprintf(msg, sizeof msg, "Ensure this field has no more than %d characters.", VF_PASSWORD_MAX_CHARS);
        json_array_append_new(errors, json_string(msg));
    }
    if (all_digits(password))
        json_array_append_new(errors, json_string("This password is entirely numeric."));
    if (email && *email) {
        /* The address itself, or its local part, in any letter case. */
        size_t local = strcspn(email, "@");
        if (strcasecmp(password, email) == 0 ||
            (local > 0 && strlen(password) == local && strncasecmp(password, email, local) == 0))
            json_array_append_new(errors, json_string("The password is too similar to the email address."));
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return NULL;
    }
    return errors;
}

/* ---------------------------------------------------------------- pool */

static vf_offload_pool_t pool = VF_OFFLOAD_POOL_INIT("password");
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static int dummy_ready;
/* Unknown accounts are checked against this so that a login for an
 * address that does not exist costs the same time as a wrong password.
 * Written once, before the pool first starts. */
static char dummy_hash[VF_PASSWORD_HASH_SIZE];

void vf_pw_job_free(vf_pw_job_t *job)
{
    if (!job)
        return;
    if (job->password) {
        sodium_memzero(job->password, strlen(job->password));
        free(job->password);
    }
    free(job->stored);
    sodium_memzero(job->new_hash, sizeof job->new_hash);
    free(job);
}

vf_pw_job_t *vf_pw_job_of(vf_offload_job_t *job)
{
    return (vf_pw_job_t *)(void *)((char *)job - offsetof(vf_pw_job_t, job));
}

static void run_job(vf_pw_job_t *job)
{
    job->status = 0;
    if (job->op == VF_PW_HASH) {
        job->status = vf_password_hash(job->password, job->new_hash);
        return;
    }
    int upgrade = 0;
    /* No account, or one without a usable hash ("!"): the same work as a
     * real check, so that the answer's timing tells nothing. */
    if (!job->stored || (strncmp(job->stored, "$argon2id$", 10) != 0 && !vf_password_is_django(job->stored))) {
        vf_password_verify(job->password, dummy_hash, &upgrade);
        job->matched = 0;
        return;
    }
    job->matched = vf_password_verify(job->password, job->stored, &upgrade);
    if (job->matched && upgrade)
        job->upgraded = vf_password_hash(job->password, job->new_hash) == 0;
}

/* On a pool thread. */
static void pool_run(vf_offload_job_t *oj, vf_thread_ctx_t *ctx)
{
    (void)ctx;
    vf_pw_job_t *job = vf_pw_job_of(oj);
    run_job(job);
    /* The password is not needed any more: do not keep it in memory
     * while the job waits for its owner. */
    if (job->password) {
        sodium_memzero(job->password, strlen(job->password));
        free(job->password);
        job->password = NULL;
    }
}

static void pool_done(vf_offload_job_t *oj)
{
    vf_pw_job_t *job = vf_pw_job_of(oj);
    job->done(job);
}

int vf_password_pool_start(int threads)
{
    pthread_mutex_lock(&dummy_lock);
    int ret = 0;
    if (!dummy_ready) {
        ret = vf_password_hash("videoflix-dummy-password", dummy_hash);
        dummy_ready = ret == 0;
    }
    pthread_mutex_unlock(&dummy_lock);
    return ret < 0 ? ret : vf_offload_start(&pool, threads, POOL_MAX_PENDING, NULL);
}

vf_offload_pool_t *vf_password_pool(void) { return &pool; }

vf_offload_job_t *vf_pw_job_prepare(vf_pw_job_t *job)
{
    job->job.run = pool_run;
    return &job->job;
}

int vf_password_pool_submit(vf_pw_job_t *job)
{
    vf_pw_job_prepare(job)->done = pool_done;
    return vf_offload_submit(&pool, &job->job);
}

void vf_password_pool_stop(void)
{
    vf_offload_stop(&pool);
}
