print("ews-sim: not built yet")
