"""IP cameras for the tests: real RTSP passthrough rooms, an ONVIF device answering with
recorded responses, and flash/beep sync markers."""
