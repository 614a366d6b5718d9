# encoder_libav: rules come with the plugin
