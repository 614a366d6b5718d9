/*
 * job_slots.h - a limit on how many jobs use one plugin instance at once
 * (an encoder's capabilities max_jobs), shared by every thread of the
 * process.
 * Owns: waiting for a free slot, and giving up when the job is cancelled.
 * Must not: know which jobs use which plugin (pipeline.c enters and leaves).
 */
#ifndef VF_JOB_SLOTS_H
#define VF_JOB_SLOTS_H

typedef struct vf_job_slots vf_job_slots_t;

/* `max` slots; NULL when out of memory. */
vf_job_slots_t *vf_job_slots_new(unsigned max);
void vf_job_slots_free(vf_job_slots_t **slots);

/* Take a slot, waiting while all are taken; `cancelled` (may be NULL) is
 * asked about every 100 ms and a non-zero answer gives -ECANCELED.
 * `slots` NULL means no limit: returns 0 at once. */
int vf_job_slots_enter(vf_job_slots_t *slots, int (*cancelled)(void *ud), void *ud);
void vf_job_slots_leave(vf_job_slots_t *slots);
/* Slots taken now (tests, logs). */
unsigned vf_job_slots_busy(vf_job_slots_t *slots);

#endif
