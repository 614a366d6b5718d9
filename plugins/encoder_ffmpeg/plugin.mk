# encoder_ffmpeg: rules come with the plugin
