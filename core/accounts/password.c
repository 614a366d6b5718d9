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

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
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

int vf_password_verify(const char *password, const char *stored, int *needs_upgrade)
{
    *needs_upgrade = 0;
    if (!stored || !password)
        return 0;
    if (strncmp(stored, DJANGO_PREFIX, strlen(DJANGO_PREFIX)) == 0) {
        int ok = vf_password_verify_django(password, stored);
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

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t *threads;
    int nthreads;
    int started;
    int stopping;
    size_t pending;
    vf_pw_job_t *head, *tail;
    /* Unknown accounts are checked against this so that a login for an
     * address that does not exist costs the same time as a wrong password. */
    char dummy_hash[VF_PASSWORD_HASH_SIZE];
} pool_t;

static pool_t pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

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
    if (!job->stored || (strncmp(job->stored, "$argon2id$", 10) != 0 &&
                         strncmp(job->stored, DJANGO_PREFIX, strlen(DJANGO_PREFIX)) != 0)) {
        vf_password_verify(job->password, pool.dummy_hash, &upgrade);
        job->matched = 0;
        return;
    }
    job->matched = vf_password_verify(job->password, job->stored, &upgrade);
    if (job->matched && upgrade)
        job->upgraded = vf_password_hash(job->password, job->new_hash) == 0;
}

static void *pool_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.lock);
        vf_pw_job_t *job = pool.head;
        if (!job) {
            pthread_mutex_unlock(&pool.lock);
            return NULL;
        }
        pool.head = job->next;
        if (!pool.head)
            pool.tail = NULL;
        pool.pending--;
        pthread_mutex_unlock(&pool.lock);

        job->next = NULL;
        run_job(job);
        /* The password is not needed any more: do not keep it in memory
         * while the job waits for its loop. */
        if (job->password) {
            sodium_memzero(job->password, strlen(job->password));
            free(job->password);
            job->password = NULL;
        }
        job->done(job);
    }
}

int vf_password_pool_start(int threads)
{
    int ret = 0;
    pthread_mutex_lock(&pool.lock);
    if (pool.started)
        goto out;
    ret = -ENOMEM;
    if (threads < 1)
        threads = 1;
    if (vf_password_hash("videoflix-dummy-password", pool.dummy_hash) < 0)
        goto out;
    pool.threads = calloc((size_t)threads, sizeof *pool.threads);
    if (!pool.threads)
        goto out;
    pool.stopping = 0;
    for (pool.nthreads = 0; pool.nthreads < threads; pool.nthreads++)
        if (pthread_create(&pool.threads[pool.nthreads], NULL, pool_main, NULL) != 0)
            break;
    if (pool.nthreads == 0) {
        vf_error("password: cannot start the hashing threads");
        free(pool.threads);
        pool.threads = NULL;
        goto out;
    }
    pool.started = 1;
    ret = 0;
out:
    pthread_mutex_unlock(&pool.lock);
    return ret;
}

int vf_password_pool_submit(vf_pw_job_t *job)
{
    int ret = -EAGAIN;
    pthread_mutex_lock(&pool.lock);
    if (!pool.started || pool.stopping) {
        ret = -ESHUTDOWN;
    } else if (pool.pending < POOL_MAX_PENDING) {
        job->next = NULL;
        if (pool.tail)
            pool.tail->next = job;
        else
            pool.head = job;
        pool.tail = job;
        pool.pending++;
        pthread_cond_signal(&pool.wake);
        ret = 0;
    }
    pthread_mutex_unlock(&pool.lock);
    return ret;
}

void vf_password_pool_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    if (!pool.started) {
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    pthread_mutex_lock(&pool.lock);
    free(pool.threads);
    pool.threads = NULL;
    pool.nthreads = 0;
    pool.started = 0;
    pthread_mutex_unlock(&pool.lock);
}
