import csv
import sys

def process(data):
    return data

if __name__ == "__main__":
    with open(sys.argv[1], newline="") as csvin:
        data = list(csv.reader(csvin))

    processed = process(data)

    with open(sys.argv[2], "w", newline="") as csvout:
        writer = csv.writer(csvout)
        writer.writerows(processed)
