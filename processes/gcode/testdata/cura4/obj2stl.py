import sys, struct
src, dst, size = sys.argv[1], sys.argv[2], float(sys.argv[3])
V=[];F=[]
for line in open(src):
    p=line.split()
    if not p: continue
    if p[0]=='v': V.append(tuple(map(float,p[1:4])))
    elif p[0]=='f': F.append([int(x.split('/')[0])-1 for x in p[1:]])
mn=[min(v[i] for v in V) for i in range(3)]; mx=[max(v[i] for v in V) for i in range(3)]
s=size/max(mx[i]-mn[i] for i in range(3))
V=[((v[0]-mn[0])*s,(v[1]-mn[1])*s,(v[2]-mn[2])*s) for v in V]
tris=[]
for f in F:
    for k in range(1,len(f)-1): tris.append((f[0],f[k],f[k+1]))
with open(dst,'wb') as o:
    o.write(b'\0'*80); o.write(struct.pack('<I',len(tris)))
    for t in tris:
        o.write(struct.pack('<3f',0,0,0))
        for i in t: o.write(struct.pack('<3f',*V[i]))
        o.write(b'\0\0')
print(len(tris), [round((mx[i]-mn[i])*s,2) for i in range(3)])
