import sys, struct
src, dst, nx, ny, pitch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
d=open(src,'rb').read(); n=struct.unpack('<I',d[80:84])[0]
tris=[]
for i in range(n):
    o=84+50*i; v=struct.unpack('<12f',d[o:o+48]); tris.append([v[3:6],v[6:9],v[9:12]])
with open(dst,'wb') as o:
    o.write(b'\0'*80); o.write(struct.pack('<I',n*nx*ny))
    for ix in range(nx):
        for iy in range(ny):
            for t in tris:
                o.write(struct.pack('<3f',0,0,0))
                for p in t: o.write(struct.pack('<3f',p[0]+ix*pitch,p[1]+iy*pitch,p[2]))
                o.write(b'\0\0')
