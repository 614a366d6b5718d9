# job queue and worker: rules come with the module
