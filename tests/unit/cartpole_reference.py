#!/usr/bin/env python3
"""Reference CartPole-v1 trajectories worked out from the equations (Barto, Sutton & Anderson
1983, as Gymnasium 1.0 writes them), in plain Python floats. Prints the C tables that
tests/unit/test_cartpole.c embeds. Run: python3 tests/unit/cartpole_reference.py"""
import math

g, mc, mp, l, fm, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
total = mp + mc
pml = mp * l
theta_lim = 12 * 2 * math.pi / 360


def step(s, a):
    x, xd, th, thd = s
    f = fm if a == 1 else -fm
    c, si = math.cos(th), math.sin(th)
    temp = (f + pml * thd ** 2 * si) / total
    thacc = (g * si - c * temp) / (l * (4.0 / 3.0 - mp * c ** 2 / total))
    xacc = temp - pml * thacc * c / total
    return [x + tau * xd, xd + tau * xacc, th + tau * thd, thd + tau * thacc]


def done(s):
    return s[0] < -2.4 or s[0] > 2.4 or s[2] < -theta_lim or s[2] > theta_lim


s = [0.01, -0.02, 0.03, 0.04]
print("/* start {0.01, -0.02, 0.03, 0.04}, action (i * 7) % 3 == 0 */")
print("static const double reference[][4] = {")
for i in range(40):
    s = step(s, 1 if (i * 7) % 3 == 0 else 0)
    print("    {%r, %r, %r, %r}," % tuple(s))
    if done(s):
        break
print("};")
s, n = [0.0, 0.0, 0.0, 0.0], 0
while True:
    s = step(s, 1)
    n += 1
    if done(s):
        break
print("/* from rest, always pushing right, the episode terminates after %d steps */" % n)
print("#define PUSH_RIGHT_STEPS %d" % n)
