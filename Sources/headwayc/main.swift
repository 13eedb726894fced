print("headwayc")
