#!/usr/bin/env python3
"""Acrobot-v1 ("book" dynamics, RK4 over dt = 0.2) transcribed from Sutton & Barto's equations
as Gymnasium 1.0 writes them, in plain Python floats. Prints the table test_envs.c embeds:
python3 tests/unit/acrobot_reference.py"""
from math import cos, sin, pi

m1 = m2 = l1 = 1.0
lc1 = lc2 = 0.5
i1 = i2 = 1.0
g, dt = 9.8, 0.2


def dsdt(s, a):
    t1, t2, d1_, d2_ = s
    d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * cos(t2)) + i1 + i2
    d2 = m2 * (lc2 ** 2 + l1 * lc2 * cos(t2)) + i2
    phi2 = m2 * lc2 * g * cos(t1 + t2 - pi / 2.0)
    phi1 = (-m2 * l1 * lc2 * d2_ ** 2 * sin(t2) - 2 * m2 * l1 * lc2 * d2_ * d1_ * sin(t2)
            + (m1 * lc1 + m2 * l1) * g * cos(t1 - pi / 2) + phi2)
    dd2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * d1_ ** 2 * sin(t2) - phi2) / (m2 * lc2 ** 2 + i2 - d2 ** 2 / d1)
    dd1 = -(d2 * dd2 + phi1) / d1
    return [d1_, d2_, dd1, dd2]


def rk4(s, a):
    k1 = dsdt(s, a)
    k2 = dsdt([x + dt / 2 * k for x, k in zip(s, k1)], a)
    k3 = dsdt([x + dt / 2 * k for x, k in zip(s, k2)], a)
    k4 = dsdt([x + dt * k for x, k in zip(s, k3)], a)
    return [x + dt / 6.0 * (p + 2 * q + 2 * r + t) for x, p, q, r, t in zip(s, k1, k2, k3, k4)]


def wrap(x, m, M):
    while x > M:
        x -= M - m
    while x < m:
        x += M - m
    return x


s = [0.1, -0.05, 0.02, 0.03]
print("/* start {0.1, -0.05, 0.02, 0.03}, torque (-1, 0, +1)[i % 3] */")
print("static const double acrobot_reference[][4] = {")
for i in range(12):
    s = rk4(s, [-1.0, 0.0, 1.0][i % 3])
    s = [wrap(s[0], -pi, pi), wrap(s[1], -pi, pi), min(max(s[2], -4 * pi), 4 * pi), min(max(s[3], -9 * pi), 9 * pi)]
    print("    {%r, %r, %r, %r}," % tuple(s))
print("};")
