"""ctypes bindings for the Windows APIs the sensor calls (ETW, the event log, WFP).

Every declaration uses fixed-width types (:mod:`.types`), so the layouts are the Windows x64
ones on any OS and the tests here can check them against the SDK headers; DLLs bind on first use.
"""
