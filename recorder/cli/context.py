"""Where the root command leaves the recorder's configuration for its commands."""

SETTINGS_KEY = "sealroom.recorder"  # the [recorder] section, a RecorderSettings
ROOMS_KEY = "sealroom.rooms"  # the [rooms.<name>] profiles, a dict[str, RoomProfile]
