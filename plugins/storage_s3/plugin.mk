# storage_s3: rules come with the plugin
