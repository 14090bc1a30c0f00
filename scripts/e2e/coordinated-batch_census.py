#!/usr/bin/env python3
"""Input and expected result of the coordinated-batch end-to-end test, computed here
independently of the generated program.

  coordinated-batch_census.py input N FILE      writes N cities (seeded, so always the same)
  coordinated-batch_census.py check FILE JSON   exits 1 unless JSON (the published result)
                                                is exactly the census of FILE
"""
import json
import random
import sys

REGIONS = ["WA", "OR", "MA", "ID", "CA"]


def write_input(count, path):
    rng = random.Random(20240613)
    lines = ["city,region,population,0-17,18-34,35-64,65+"]
    for n in range(count):
        a, b, d = rng.randint(10, 30), rng.randint(10, 35), rng.randint(5, 25)
        c = 100 - a - b - d
        population = rng.randint(1_000, 3_000_000)
        lines.append(f"city-{n},{rng.choice(REGIONS)},{population},{a},{b},{c},{d}")
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def expected(path):
    cities, population, weighted, total = {}, {}, [0, 0, 0, 0], 0
    with open(path, encoding="utf-8") as table:
        for line in list(table)[1:]:
            _, region, people, *shares = line.strip().split(",")
            people = int(people)
            cities[region] = cities.get(region, 0) + 1
            population[region] = population.get(region, 0) + people
            total += people
            for bucket, share in enumerate(shares):
                weighted[bucket] += people * int(share)
    # The book's histogram: each city's shares times its population, added bucket-wise.
    return {
        "cities": cities,
        "population": population,
        "ages": {"population": total, "weighted": weighted},
    }


def main():
    if sys.argv[1] == "input":
        write_input(int(sys.argv[2]), sys.argv[3])
        return 0
    if sys.argv[1] == "check":
        want = expected(sys.argv[2])
        got = json.loads(sys.argv[3])
        if got != want:
            print(f"published: {json.dumps(got, sort_keys=True)}")
            print(f"expected:  {json.dumps(want, sort_keys=True)}")
            return 1
        shares = [round(w / (want["ages"]["population"] * 100), 4) for w in want["ages"]["weighted"]]
        print(
            f"{sum(want['cities'].values())} cities in {len(want['cities'])} regions, "
            f"{want['ages']['population']} people, age shares {shares}"
        )
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
